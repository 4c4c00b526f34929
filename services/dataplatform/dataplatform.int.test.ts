import { expect } from 'chai';
import { execFile } from 'node:child_process';
import type { ConfirmChannel } from 'amqplib';
import { Database, createPool, dropDatabase } from '../../lib/db';
import { parkedQueue } from '../../lib/events/consumer';
import { listParked, replayParked } from '../../lib/events/dlq';
import { encodeEnvelope, type EventEnvelope } from '../../lib/events/envelope';
import { newId } from '../../lib/ids';
import { createLogger } from '../../lib/log';
import { REPO_ROOT } from '../../lib/paths';
import { runDlq } from '../../cmd/dlq';
import { DataplatformMock, type MockDelivery, type MockMode } from '../../mock/dataplatform';
import { testContext, type TestContext } from '../../test/support/context';
import { runId } from '../../test/support/infra';
import { freePort } from '../../test/support/mesh';
import { findDelivery } from './data/deliveries';
import { Deliverer, DeliveryFailedError } from './deliverer';
import { DELIVERIES_QUEUE, startDataplatform } from './main';

const QUEUE = DELIVERIES_QUEUE;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (ok: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(10);
  }
};

describe('dataplatform delivery (real MariaDB and RabbitMQ, the bundled mock)', function () {
  this.timeout(60_000);
  let mock: DataplatformMock;
  let mockBase: string;
  let ctx: TestContext;
  let db: Database;
  let pub: ConfirmChannel;

  before(async () => {
    mock = new DataplatformMock({ path: '/events', log: createLogger('silent') });
    mockBase = `http://127.0.0.1:${await mock.listen('127.0.0.1', 0)}`;
    ctx = await testContext({
      DB_NAME_PREFIX: `${runId()}_`,
      DATAPLATFORM_URL: `${mockBase}/events`,
      // A tight ladder: four attempts within about 350 ms, then parked.
      EVENTS_RETRY_DELAYS_MS: '50,100,200',
    });
    await startDataplatform(ctx);
    db = new Database(createPool(ctx.config.db.dataplatform), 'dataplatform');
    // Publishing before the consumer bound its queue would lose the event.
    await until(async () => {
      const ch = await ctx.broker.confirmChannel();
      try {
        return (await ch.checkQueue(QUEUE)).consumerCount > 0;
      } catch {
        return false;
      } finally {
        await ch.close().catch(() => undefined);
      }
    });
    pub = await ctx.broker.confirmChannel();
  });
  after(async () => {
    await pub?.close().catch(() => undefined);
    await db?.close();
    await ctx?.stop();
    await mock?.close();
    if (ctx) await dropDatabase(ctx.config.db.dataplatform);
  });
  beforeEach(() => mode('ok'));
  afterEach(async () => {
    // Each test leaves nothing parked for the next one.
    expect(await listParked(ctx.broker, QUEUE)).to.deep.equal([]);
  });

  async function mode(m: MockMode): Promise<void> {
    const res = await fetch(`${mockBase}/control`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: m }),
    });
    expect(res.status).to.equal(200);
  }
  async function received(eventId: string): Promise<MockDelivery | undefined> {
    const all = (await (await fetch(`${mockBase}/deliveries`)).json()) as {
      deliveries: MockDelivery[];
    };
    return all.deliveries.find((d) => d.eventId === eventId);
  }
  async function held(): Promise<number> {
    return ((await (await fetch(`${mockBase}/control`)).json()) as { held: number }).held;
  }
  const accepted = (eventId: string) => async () => (await received(eventId))?.accepted === 1;

  function completed(payload: Record<string, unknown> = {}): EventEnvelope {
    const reservationId = newId();
    return {
      eventId: newId(),
      type: 'ReservationCompleted',
      version: 1,
      occurredAt: new Date().toISOString(),
      aggregateId: reservationId,
      payload: {
        reservationId,
        paymentId: newId(),
        userId: 'u1',
        concertId: 'c1',
        scheduleId: 's1',
        date: '2030-12-24',
        seatNumber: 7,
        amount: 12000,
        ...payload,
      },
    };
  }
  /** Published as the outbox relay does: persistent, id and type in the properties. */
  async function publish(...events: EventEnvelope[]): Promise<void> {
    for (const e of events) {
      pub.publish(ctx.config.events.exchange, e.type, encodeEnvelope(e), {
        persistent: true,
        contentType: 'application/json',
        messageId: e.eventId,
        type: e.type,
      });
    }
    await pub.waitForConfirms();
  }
  const bodyOf = (e: EventEnvelope) => ({
    eventId: e.eventId,
    type: 'ReservationCompleted',
    occurredAt: e.occurredAt,
    ...e.payload,
  });

  it('POSTs a completed reservation once, with exactly the body docs/api.md lists', async () => {
    const e = completed();
    await publish(e);
    await until(accepted(e.eventId));
    await sleep(300); // room for a second POST that must not come
    const got = await received(e.eventId);
    expect(got).to.deep.equal({ eventId: e.eventId, count: 1, accepted: 1, body: bodyOf(e) });
    expect(Object.keys(got!.body)).to.deep.equal([
      'eventId',
      'type',
      'occurredAt',
      'reservationId',
      'paymentId',
      'userId',
      'concertId',
      'scheduleId',
      'date',
      'seatNumber',
      'amount',
    ]);
    expect(await findDelivery(db, e.eventId)).to.deep.include({
      reservationId: e.aggregateId,
      attempts: 1,
      lastStatus: 200,
      lastError: null,
    });
    expect((await findDelivery(db, e.eventId))!.deliveredAt).to.be.instanceOf(Date);
  });

  it('POSTs an event published twice (or more, concurrently) only once', async () => {
    const events = Array.from({ length: 30 }, () => completed());
    // Every event three times, interleaved, so copies are handled at the same time.
    await publish(...events, ...events, ...events);
    await until(async () => {
      for (const e of events) if (!(await accepted(e.eventId)())) return false;
      return true;
    });
    await sleep(300);
    for (const e of events) {
      expect(await received(e.eventId)).to.include({ count: 1, accepted: 1 });
      expect(await findDelivery(db, e.eventId)).to.include({ attempts: 1, lastStatus: 200 });
    }
  });

  it('retries while the data platform fails and delivers exactly once after it recovers', async () => {
    await mode('fail');
    const e = completed();
    await publish(e);
    await until(async () => ((await received(e.eventId))?.count ?? 0) >= 2);
    await mode('ok'); // before the ladder runs out
    await until(accepted(e.eventId));
    await sleep(300);
    const got = (await received(e.eventId))!;
    expect(got.accepted).to.equal(1);
    expect(got.count).to.be.within(3, 4);
    expect(await findDelivery(db, e.eventId)).to.deep.include({
      attempts: got.count,
      lastStatus: 200,
      lastError: null,
    });
  });

  it('gives up on a stalled POST after 5 s and retries it', async function () {
    this.timeout(30_000);
    await mode('stall');
    const e = completed();
    await publish(e);
    await until(async () => (await held()) === 1);
    const stalledAt = Date.now();
    await until(async () => (await received(e.eventId))?.count === 2, 15_000);
    const waited = Date.now() - stalledAt;
    expect(waited).to.be.within(4900, 7000);
    // The first attempt's timeout is in the log while the second one stalls.
    expect(await findDelivery(db, e.eventId)).to.deep.include({
      attempts: 1,
      lastStatus: null,
      lastError: 'no answer within 5000 ms',
      deliveredAt: null,
    });
    await mode('ok'); // the stalled second attempt gets 503; the third is delivered
    await until(accepted(e.eventId));
    await sleep(300);
    expect(await received(e.eventId)).to.include({ count: 3, accepted: 1 });
    expect(await findDelivery(db, e.eventId)).to.include({ attempts: 3, lastStatus: 200 });
  });

  it('parks an event the data platform keeps refusing; a replay delivers it once', async () => {
    await mode('fail');
    const e = completed();
    await publish(e);
    await until(async () => (await listParked(ctx.broker, QUEUE)).length === 1);
    const [parked] = await listParked(ctx.broker, QUEUE);
    expect(parked).to.include({
      eventId: e.eventId,
      type: 'ReservationCompleted',
      attempts: 4,
      lastError: 'data platform answered 500',
    });
    expect(await received(e.eventId)).to.include({ count: 4, accepted: 0 });
    expect(await findDelivery(db, e.eventId)).to.deep.include({
      attempts: 4,
      lastStatus: 500,
      lastError: 'data platform answered 500',
      deliveredAt: null,
    });

    await mode('ok');
    expect(await replayParked(ctx.broker, QUEUE)).to.equal(1);
    await until(accepted(e.eventId));
    await sleep(300);
    expect(await received(e.eventId)).to.include({ count: 5, accepted: 1 });
    expect(await findDelivery(db, e.eventId)).to.include({ attempts: 5, lastStatus: 200 });
  });

  it('parks an event it cannot read, without POSTing anything', async () => {
    const e = completed({ paymentId: null });
    await publish(e);
    await until(async () => (await listParked(ctx.broker, QUEUE)).length === 1);
    const [parked] = await listParked(ctx.broker, QUEUE);
    expect(parked).to.include({ eventId: e.eventId, attempts: 4 });
    expect(parked.lastError).to.match(/^invalid ReservationCompleted: paymentId/);
    expect(await received(e.eventId)).to.equal(undefined);
    expect(await findDelivery(db, e.eventId)).to.equal(undefined);
    // Replaying would only park it again: an operator would fix the producer, then drop it.
    const ch = await ctx.broker.confirmChannel();
    await ch.purgeQueue(parkedQueue(QUEUE));
    await ch.close();
  });

  it('logs an attempt that reached nobody and leaves the event unprocessed', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}/events`;
    const deliverer = new Deliverer(
      db,
      { url: nobody, timeoutMs: 5000, consumer: 'test.refused' },
      createLogger('silent'),
    );
    const e = completed();
    try {
      await deliverer.handle(e);
      expect.fail('the delivery should fail');
    } catch (err) {
      expect(err).to.be.instanceOf(DeliveryFailedError);
      expect((err as Error).message).to.equal('cannot reach the data platform: ECONNREFUSED');
    } finally {
      deliverer.close();
    }
    expect(await findDelivery(db, e.eventId)).to.deep.include({
      attempts: 1,
      lastStatus: null,
      lastError: 'cannot reach the data platform: ECONNREFUSED',
      deliveredAt: null,
    });
    expect(
      await db.query('SELECT 1 FROM processed_event WHERE consumer = ? AND event_id = ?', [
        'test.refused',
        e.eventId,
      ]),
    ).to.have.length(0);
  });

  it('the dlq command lists parked events and replays the ones asked for', async () => {
    await mode('fail');
    const [a, b] = [completed(), completed()];
    await publish(a, b);
    await until(async () => (await listParked(ctx.broker, QUEUE)).length === 2);
    const out: string[] = [];
    const err: string[] = [];
    const run = (cmd: Parameters<typeof runDlq>[0]) => {
      out.length = 0;
      err.length = 0;
      return runDlq(
        cmd,
        ctx.broker,
        (s) => out.push(s),
        (s) => err.push(s),
      );
    };

    expect(await run({ command: 'list', queue: QUEUE, json: false })).to.equal(0);
    const table = out.join('').split('\n');
    expect(table[0]).to.match(/^EVENT ID\s+TYPE\s+ATTEMPTS\s+LAST ERROR$/);
    for (const e of [a, b]) {
      expect(
        table.some((l) =>
          new RegExp(
            `^${e.eventId}\\s+ReservationCompleted\\s+4\\s+data platform answered 500$`,
          ).test(l),
        ),
      ).to.equal(true);
    }
    expect(table).to.include(`2 parked message(s) in ${QUEUE}.parked`);

    expect(await run({ command: 'list', queue: QUEUE, json: true })).to.equal(0);
    const listed = JSON.parse(out.join('')) as any[];
    expect(listed.map((m) => m.eventId).sort()).to.deep.equal([a.eventId, b.eventId].sort());
    expect(listed[0]).to.have.keys(['eventId', 'type', 'attempts', 'lastError', 'body']);
    expect(listed.find((m) => m.eventId === a.eventId).body).to.deep.equal(a);

    await mode('ok');
    expect(await run({ command: 'replay', queue: QUEUE, eventIds: [a.eventId] })).to.equal(0);
    expect(out.join('')).to.equal(`replayed 1 message(s) from ${QUEUE}.parked to ${QUEUE}\n`);
    await until(accepted(a.eventId));
    expect((await listParked(ctx.broker, QUEUE)).map((m) => m.eventId)).to.deep.equal([b.eventId]);

    // a is no longer parked: b is replayed, a is named, and the exit code says so.
    expect(
      await run({ command: 'replay', queue: QUEUE, eventIds: [a.eventId, b.eventId] }),
    ).to.equal(1);
    expect(out.join('')).to.equal(`replayed 1 message(s) from ${QUEUE}.parked to ${QUEUE}\n`);
    expect(err.join('')).to.equal(`dlq: not parked in ${QUEUE}.parked: ${a.eventId}\n`);
    await until(accepted(b.eventId));
    await sleep(300);
    for (const e of [a, b]) expect(await received(e.eventId)).to.include({ count: 5, accepted: 1 });
  });

  it('the dlq command runs as a process: output, exit codes, one-line errors', async function () {
    this.timeout(30_000);
    const dlq = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'cmd/dlq.ts', ...args],
          { cwd: REPO_ROOT, env: { ...process.env, AMQP_URL: ctx.config.amqpUrl } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    expect(await dlq('list', QUEUE, '--json')).to.deep.equal({
      code: 0,
      stdout: '[]\n',
      stderr: '',
    });
    expect(await dlq('replay', QUEUE)).to.deep.equal({
      code: 0,
      stdout: `replayed 0 message(s) from ${QUEUE}.parked to ${QUEUE}\n`,
      stderr: '',
    });
    const missing = await dlq('list', 'no.such.queue');
    expect(missing).to.deep.equal({
      code: 1,
      stdout: '',
      stderr:
        'dlq: no queue "no.such.queue.parked" on the broker (is the consumer queue name right?)\n',
    });
    const usage = await dlq('list');
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.match(/^dlq: list needs a queue\n\nusage:/);
  });
});
