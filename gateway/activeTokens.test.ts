import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { DomainError } from '../lib/errors';
import { asDomainError, toServiceError } from '../lib/grpc/status';
import { signPass } from '../lib/trust/activePass';
import { ActiveTokens, type QueueClient } from './activeTokens';

const queueKeys = generateKeyPairSync('ed25519');
const someoneElse = generateKeyPairSync('ed25519');
const alice = { userId: 'alice', role: 'user' as const };
const TOKEN = 'tok1.tag';

/** A queue that answers from a table of verdicts and counts the calls it gets. */
class FakeQueue {
  calls = 0;
  verdict: 'ACTIVE' | DomainError = 'ACTIVE';
  signWith = queueKeys.privateKey;
  expiresAt = 0;
  /** The queue's clock: when it signs. */
  clock: () => number = Date.now;
  /** Held open until released: a call in flight. */
  hold: Promise<void> | undefined;

  readonly client: QueueClient = {
    validateToken: async (req, opts) => {
      this.calls += 1;
      const userId = opts?.metadata?.get('user')[0] as string;
      if (this.hold) await this.hold;
      if (this.verdict !== 'ACTIVE') throw toServiceError(this.verdict) as ServiceError;
      return { pass: signPass(this.signWith, req.token, userId, this.expiresAt, this.clock()) };
    },
  };
}

function setup() {
  let now = 1_000_000;
  const queue = new FakeQueue();
  queue.expiresAt = now + 60_000;
  queue.clock = () => now;
  const tokens = new ActiveTokens(queue.client, queueKeys.publicKey, 5_000, () => now);
  const md = () => {
    const m = new Metadata();
    m.set('user', 'alice');
    return m;
  };
  return {
    queue,
    tokens,
    check: (token = TOKEN, paid?: () => Promise<string | undefined>) =>
      tokens.require(token, alice, md, paid),
    advance: (ms: number) => {
      now += ms;
    },
    /** The feed comes up, and has been up longer than the clock skew a pass must clear. */
    feedSettled: () => {
      tokens.feedUp();
      now += 1_001;
    },
    pass: (token = TOKEN, signedAt = now) =>
      signPass(queueKeys.privateKey, token, 'alice', queue.expiresAt, signedAt),
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof DomainError ? err.reason : asDomainError(err as ServiceError)!.reason;
  }
  throw new Error('expected a refusal');
}

const expired = () =>
  new DomainError('QUEUE_TOKEN_EXPIRED', 'ended', { endedBy: 'payment', reservationId: 'r1' });

describe('ActiveTokens', () => {
  it('asks the queue once per token while the feed is up, then trusts the pass', async () => {
    const { queue, tokens, check, feedSettled } = setup();
    feedSettled();
    await check();
    await check();
    await check();
    expect(queue.calls).to.equal(1);
    expect(tokens.kept).to.equal(1);
  });

  it('asks the queue every time while the feed is down', async () => {
    const { queue, tokens, check } = setup();
    await check();
    await check();
    expect(queue.calls).to.equal(2);
    tokens.feedUp();
    // Signed less than the clock skew after the feed came up: an end may have been missed.
    await check();
    expect(tokens.kept).to.equal(0);
    tokens.feedDown();
    await check();
    expect(queue.calls).to.equal(4);
    expect(tokens.kept).to.equal(0);
  });

  it('drops the pass of an announced end, so the next check gets the queue’s refusal', async () => {
    const { queue, tokens, check, feedSettled } = setup();
    feedSettled();
    await check();
    tokens.onEnded('tok1');
    queue.verdict = new DomainError('QUEUE_TOKEN_EXPIRED', 'ended');
    expect(await refusal(check())).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(queue.calls).to.equal(2);
  });

  it('keeps no pass answered while its end was announced, or across a feed outage', async () => {
    const { queue, tokens, check, feedSettled } = setup();
    feedSettled();
    let release = () => {};
    queue.hold = new Promise((r) => (release = r));
    const inFlight = check();
    tokens.onEnded('tok1');
    release();
    await inFlight;
    expect(tokens.kept).to.equal(0);

    queue.hold = new Promise((r) => (release = r));
    const other = check('tok2.tag');
    tokens.feedDown();
    tokens.feedUp();
    release();
    await other;
    expect(tokens.kept).to.equal(0);
  });

  it('stops trusting a pass at its end, less a second for clock skew', async () => {
    const { queue, tokens, check, advance, feedSettled } = setup();
    feedSettled();
    await check();
    advance(57_500);
    await check();
    expect(queue.calls).to.equal(1);
    advance(600);
    queue.verdict = new DomainError('QUEUE_TOKEN_EXPIRED', 'expired');
    expect(await refusal(check())).to.equal('QUEUE_TOKEN_EXPIRED');
    tokens.sweep();
    expect(tokens.kept).to.equal(0);
  });

  it('does not let another user ride on a kept pass', async () => {
    const { queue, tokens, check, feedSettled } = setup();
    feedSettled();
    await check();
    queue.verdict = new DomainError('QUEUE_TOKEN_USER_MISMATCH', 'not yours');
    const md = () => new Metadata();
    expect(await refusal(tokens.require(TOKEN, { userId: 'bob', role: 'user' }, md))).to.equal(
      'QUEUE_TOKEN_USER_MISMATCH',
    );
  });

  it('refuses a pass the queue did not sign, or one for another token', async () => {
    const { queue, tokens, check, feedSettled } = setup();
    feedSettled();
    queue.signWith = someoneElse.privateKey;
    expect(await refusal(check())).to.equal('UNAVAILABLE');
    expect(tokens.kept).to.equal(0);
    queue.signWith = queueKeys.privateKey;
    const forged: QueueClient = {
      validateToken: async () => ({
        pass: signPass(queueKeys.privateKey, 'other.tag', 'alice', Date.now() + 60_000),
      }),
    };
    const t = new ActiveTokens(forged, queueKeys.publicKey, 5_000);
    expect(
      await refusal(
        t.require(TOKEN, alice, () => {
          const m = new Metadata();
          m.set('user', 'alice');
          return m;
        }),
      ),
    ).to.equal('UNAVAILABLE');
  });

  it('keeps a pass handed out with an answer, so the token costs no call at all', async () => {
    const { queue, tokens, check, feedSettled, pass, advance } = setup();
    feedSettled();
    tokens.offer(pass());
    await check();
    expect(queue.calls).to.equal(0);
    // One the queue did not sign, one signed before the feed came up, one of an ended token,
    // one of a token with no time left: none is kept.
    tokens.offer(signPass(someoneElse.privateKey, 'other.tag', 'alice', Date.now() + 60_000));
    tokens.offer(pass('early.tag', 0));
    tokens.onEnded('gone');
    tokens.offer(pass('gone.tag'));
    advance(59_500);
    tokens.offer(pass('late.tag'));
    expect(tokens.kept).to.equal(1);
  });

  it('lets a token ended by a payment repeat that payment, and nothing else', async () => {
    const { queue, check } = setup();
    queue.verdict = expired();
    await check(TOKEN, async () => 'r1');
    expect(await refusal(check(TOKEN, async () => 'r2'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await refusal(check(TOKEN, async () => undefined))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await refusal(check(TOKEN))).to.equal('QUEUE_TOKEN_EXPIRED');
    queue.verdict = new DomainError('QUEUE_TOKEN_EXPIRED', 'ended by an operator');
    expect(await refusal(check(TOKEN, async () => 'r1'))).to.equal('QUEUE_TOKEN_EXPIRED');
  });

  it('forgets ended ids once no call can still be in flight for them', async () => {
    const { queue, tokens, check, advance, feedSettled } = setup();
    feedSettled();
    tokens.onEnded('tok1');
    await check();
    expect(tokens.kept).to.equal(0);
    advance(5_001);
    tokens.sweep();
    await check();
    await check();
    expect(queue.calls).to.equal(2);
    expect(tokens.kept).to.equal(1);
  });
});
