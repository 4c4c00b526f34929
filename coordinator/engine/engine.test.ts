import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import { defineFlow, type Flow } from './flow';
import { REFUSAL_REASON, harness, remoteError, type Harness } from './testkit';

interface Input {
  seat: number;
}

function twoSteps(h: Harness): Flow<Input, string[]> {
  const a = h.participants.step('a', 'p1', { compensable: true });
  const b = h.participants.step('b', 'p2', { needs: [a], compensable: true });
  return defineFlow({
    name: 'two',
    steps: [a, b],
    output: (_input: Input, r) => [r.of(a).from, r.of(b).from],
  });
}

async function outcome<T>(p: Promise<T>): Promise<{ value?: T; reason?: string }> {
  try {
    return { value: await p };
  } catch (err) {
    return { reason: (err as DomainError).reason };
  }
}

for (const mode of ['saga', 'xa'] as const) {
  describe(`engine (${mode})`, () => {
    it('logs the transaction in its mode, with its input, and answers the output', async () => {
      const h = harness(mode);
      expect(await h.engine.run(twoSteps(h), { seat: 7 })).to.deep.equal(['a', 'b']);
      const [rec] = await h.txLog.list(undefined, 10);
      expect(rec).to.include({ flow: 'two', mode, state: 'COMMITTED' });
      expect(rec.payload).to.deep.equal({ seat: 7 });
    });

    it('answers a repeat of an idempotency key with the first outcome, running it once', async () => {
      const h = harness(mode);
      const flow = twoSteps(h);
      const run = { idempotencyKey: 'u1:k1', requestHash: 'h1' };
      const first = await h.engine.run(flow, { seat: 1 }, run);
      const again = await h.engine.run(flow, { seat: 1 }, run);
      expect(again).to.deep.equal(first);
      expect(h.participants.made('a', 'action')).to.have.length(1);
      expect(await h.txLog.list(undefined, 10)).to.have.length(1);
    });

    it('answers a repeat of a refused request with the same refusal, running it once', async () => {
      const h = harness(mode);
      const flow = twoSteps(h);
      h.participants.script('b', 'action', 'refused');
      const run = { idempotencyKey: 'u1:k1', requestHash: 'h1' };
      expect(await outcome(h.engine.run(flow, { seat: 1 }, run))).to.deep.equal({
        reason: REFUSAL_REASON,
      });
      expect(await outcome(h.engine.run(flow, { seat: 1 }, run))).to.deep.equal({
        reason: REFUSAL_REASON,
      });
      expect(h.participants.made('b', 'action')).to.have.length(1);
    });

    it('makes concurrent repeats of a key wait for the first run and share its answer', async () => {
      const h = harness(mode);
      const flow = twoSteps(h);
      const run = { idempotencyKey: 'u1:k1', requestHash: 'h1' };
      const answers = await Promise.all(
        Array.from({ length: 5 }, () => h.engine.run(flow, { seat: 1 }, run)),
      );
      for (const a of answers) expect(a).to.deep.equal(['a', 'b']);
      expect(h.participants.made('a', 'action')).to.have.length(1);
    });

    it('refuses a key reused with another request, and runs nothing for it', async () => {
      const h = harness(mode);
      const flow = twoSteps(h);
      await h.engine.run(flow, { seat: 1 }, { idempotencyKey: 'u1:k1', requestHash: 'h1' });
      const reused = h.engine.run(
        flow,
        { seat: 2 },
        { idempotencyKey: 'u1:k1', requestHash: 'h2' },
      );
      expect(await outcome(reused)).to.deep.equal({ reason: 'IDEMPOTENCY_KEY_REUSED' });
      expect(h.participants.made('a', 'action')).to.have.length(1);
    });

    it('runs a key again whose first run ended UNAVAILABLE: it changed nothing', async () => {
      const h = harness(mode);
      const flow = twoSteps(h);
      // The first step could not be reached (saga: not until the deadline): nothing changed.
      h.participants.script('a', 'action', 'unavailable');
      const run = { idempotencyKey: 'u1:k1', requestHash: 'h1' };
      expect(await outcome(h.engine.run(flow, { seat: 1 }, run))).to.deep.equal({
        reason: 'UNAVAILABLE',
      });
      h.participants.script('a', 'action', 'ok');
      expect(await outcome(h.engine.run(flow, { seat: 1 }, run))).to.deep.equal({
        value: ['a', 'b'],
      });
      expect(await h.txLog.list(undefined, 10)).to.have.length(2);
    });
  });
}

describe('engine: turns per contention key', () => {
  function contended(h: Harness, guard: () => Promise<unknown>): Flow<Input, string[]> {
    const flow = twoSteps(h);
    return { ...flow, contention: { key: (i) => `seat ${i.seat}`, guard } };
  }

  it('lets the first run decide, and refuses those that waited with one shared guard read', async () => {
    const h = harness('saga');
    let guardReads = 0;
    const flow = contended(h, async () => {
      guardReads++;
      throw remoteError('refused');
    });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => outcome(h.engine.run(flow, { seat: 1 }))),
    );
    expect(answers.filter((a) => a.value)).to.have.length(1);
    expect(answers.filter((a) => a.reason === REFUSAL_REASON)).to.have.length(9);
    expect(guardReads).to.equal(1);
    // The refused ones never began a transaction.
    expect(await h.txLog.list(undefined, 100)).to.have.length(1);
  });

  it('lets a waiter run its own transaction when the guard does not refuse', async () => {
    const h = harness('saga');
    const flow = contended(h, async () => ({}));
    const answers = await Promise.all([
      h.engine.run(flow, { seat: 1 }),
      h.engine.run(flow, { seat: 1 }),
    ]);
    expect(answers).to.deep.equal([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(await h.txLog.list(undefined, 100)).to.have.length(2);
  });

  it('takes no turn under an idempotency key: the key, not the seat now, is the answer', async () => {
    const h = harness('saga');
    let guardReads = 0;
    const flow = contended(h, async () => {
      guardReads++;
      throw remoteError('refused');
    });
    const run = { idempotencyKey: 'u1:k', requestHash: 'h' };
    await Promise.all([h.engine.run(flow, { seat: 1 }, run), h.engine.run(flow, { seat: 1 }, run)]);
    expect(guardReads).to.equal(0);
  });
});
