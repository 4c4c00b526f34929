// The end-token consumer of the real queue service, fed ReservationCompleted events published
// straight to the run's own RabbitMQ vhost, against the real Redis.
import { expect } from 'chai';
import type { DomainError } from '../../lib/errors';
import { ENDED_TOKENS_CHANNEL } from '../../lib/trust/activePass';
import { listParked } from '../../lib/events/dlq';
import { RESERVATION_COMPLETED } from '../../lib/events/reservationCompleted';
import { createRedis, type Redis } from '../../lib/redis';
import { testContext, type TestContext } from '../../test/support/context';
import { consumerAttached, envelope, publishEvents } from '../../test/support/events';
import { deleteKeys, runId } from '../../test/support/infra';
import { eventually } from '../../test/support/people';
import { END_TOKEN_QUEUE } from './events';
import { startQueue } from './main';
import { WaitingRoom, type IssuedToken } from './waitingRoom';

const HOUR_MS = 3_600_000;

describe('queue end-token consumer (RabbitMQ, Redis)', function () {
  this.timeout(30_000);
  const prefix = `${runId()}:`;
  let ctx: TestContext;
  let redis: Redis;
  let room: WaitingRoom;

  before(async () => {
    ctx = await testContext({
      QUEUE_GRPC_PORT: '0',
      REDIS_KEY_PREFIX: prefix,
      QUEUE_MAX_ACTIVE: '100',
      EVENTS_RETRY_DELAYS_MS: '50,50',
      // One message at a time, in queue order: an event published after another is handled
      // after it, so a later event tells when an earlier one (with no visible effect) was done.
      EVENTS_PREFETCH: '1',
    });
    await startQueue(ctx);
    redis = createRedis(ctx.config.redis.url, prefix);
    room = new WaitingRoom(redis, ctx.config.queue);
    await consumerAttached(ctx.broker, END_TOKEN_QUEUE);
  });

  after(async () => {
    await ctx.stop();
    redis.disconnect();
    await deleteKeys(ctx.config.redis.url, prefix);
  });

  // By default the payment happens a moment after the tokens a test issued first: issuedAt
  // (Redis TIME) and occurredAt (this process) are read from the same clock, but may fall in
  // the same millisecond, and a token must be issued strictly before the payment.
  const completed = (userId: string, occurredAt = new Date(Date.now() + 1000)) =>
    envelope(
      RESERVATION_COMPLETED,
      {
        reservationId: `r-${userId}`,
        paymentId: `p-${userId}`,
        userId,
        concertId: 'c1',
        scheduleId: 's1',
        date: '2031-02-01',
        seatNumber: 7,
        amount: 8000,
      },
      { occurredAt: occurredAt.toISOString() },
    );

  /** Once subscribed: the next announcement on the ended-tokens channel. */
  async function listen(): Promise<{ next: Promise<unknown> }> {
    const sub = createRedis(ctx.config.redis.url, '');
    await sub.subscribe(`${prefix}${ENDED_TOKENS_CHANNEL}`);
    const next = new Promise((resolve) =>
      sub.once('message', (_channel: string, message: string) => {
        sub.disconnect();
        resolve(JSON.parse(message));
      }),
    );
    return { next };
  }

  const live = (t: IssuedToken, userId: string) =>
    room.validateToken(t.token, userId).then(
      () => true,
      () => false,
    );

  /** Waits until the token is no longer live; fails if it stays live. */
  async function ended(t: IssuedToken, userId: string): Promise<void> {
    expect(
      await eventually(
        () => live(t, userId),
        (l) => !l,
      ),
    ).to.equal(false);
  }

  it("ends the payer's token, and only the payer's", async () => {
    const alice = await room.issueToken('alice');
    const bob = await room.issueToken('bob');
    expect(alice.status).to.equal('ACTIVE');
    const announced = await listen();
    await publishEvents(ctx.broker, [completed('alice')]);
    await ended(alice, 'alice');
    expect(await live(bob, 'bob')).to.equal(true);
    expect((await room.stats()).active).to.equal(1);
    // Its holder may repeat that payment: the refusal names it, and so does the announcement.
    const refusal = await room.validateToken(alice.token, 'alice').then(
      () => undefined,
      (err: DomainError) => err,
    );
    expect(refusal?.reason).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(refusal?.metadata).to.deep.equal({ endedBy: 'payment', reservationId: 'r-alice' });
    expect(await announced.next).to.deep.equal({
      id: alice.token.split('.')[0],
      user: 'alice',
      by: 'payment',
      reservationId: 'r-alice',
    });
  });

  it('ends nothing more when the same event is delivered twice', async () => {
    // The event is dated after every token below, so only its event id can stop the second
    // delivery from ending the token the payer got in between.
    const event = completed('carol', new Date(Date.now() + HOUR_MS));
    const first = await room.issueToken('carol');
    await publishEvents(ctx.broker, [event]);
    await ended(first, 'carol');
    const second = await room.issueToken('carol');
    expect(second.existing).to.equal(false);

    const dave = await room.issueToken('dave');
    await publishEvents(ctx.broker, [event, completed('dave', new Date(Date.now() + HOUR_MS))]);
    await ended(dave, 'dave'); // handled after the repeat
    expect(await live(second, 'carol')).to.equal(true);
  });

  it('leaves a token issued after the payment to a late event', async () => {
    const paidAt = new Date();
    await new Promise((r) => setTimeout(r, 20)); // the token's Redis clock is past paidAt
    const erin = await room.issueToken('erin');
    const frank = await room.issueToken('frank');
    await publishEvents(ctx.broker, [completed('erin', paidAt), completed('frank')]);
    await ended(frank, 'frank'); // handled after erin's
    expect(await live(erin, 'erin')).to.equal(true);
  });

  it('parks a malformed event after its retries, ending nothing', async () => {
    const gina = await room.issueToken('gina');
    const bad = completed('gina');
    delete bad.payload.scheduleId;
    await publishEvents(ctx.broker, [bad]);
    const parked = await eventually(
      () => listParked(ctx.broker, END_TOKEN_QUEUE),
      (p) => p.length > 0,
    );
    expect(parked).to.have.length(1);
    expect(parked[0]).to.include({ eventId: bad.eventId, attempts: 3 });
    expect(parked[0].lastError).to.match(/scheduleId/);
    expect(await live(gina, 'gina')).to.equal(true);
  });
});
