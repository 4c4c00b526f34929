import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import { defineFlow, sagaPlan } from './flow';
import type { TxState } from './log';
import { REFUSAL_REASON, harness, onlyGid, runPayLike, type Answer, type Harness } from './testkit';

const run = runPayLike;

describe('saga runner (scripted participants)', () => {
  it('runs every step once, b and c together after a, the pivot d last, and commits', async () => {
    const h = harness('saga');
    const r = await run(h);
    expect(r.value).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(h.participants.order('action')).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(h.participants.order('compensate')).to.deep.equal([]);
    expect(h.txLog.history.get(onlyGid(h))).to.deep.equal(['RUNNING', 'COMMITTED']);
    // Each step is its own barrier branch, named after the step.
    expect(h.participants.calls.map((c) => c.branchId)).to.deep.equal(['a', 'b', 'c', 'd']);
  });

  // What the flow answers when one step keeps answering the same: written out, not derived.
  const cases: {
    at: string;
    answer: Exclude<Answer, 'ok'>;
    reason: string;
    history: TxState[];
    compensated: string[];
  }[] = [
    {
      at: 'a',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'ABORTED'],
      compensated: [],
    },
    {
      // c ran beside b: it is undone too.
      at: 'b',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
      compensated: ['c', 'a'],
    },
    {
      at: 'c',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
      compensated: ['b', 'a'],
    },
    { at: 'd', answer: 'refused', reason: 'UNAVAILABLE', history: ['RUNNING'], compensated: [] },
  ];
  for (const answer of ['unavailable', 'timeout', 'unknown'] as const) {
    cases.push(
      {
        at: 'a',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
        compensated: ['a'],
      },
      {
        at: 'b',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
        compensated: ['c', 'b', 'a'],
      },
      {
        at: 'c',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
        compensated: ['c', 'b', 'a'],
      },
      { at: 'd', answer, reason: 'UNAVAILABLE', history: ['RUNNING'], compensated: [] },
    );
  }

  for (const c of cases) {
    it(`step ${c.at} answering ${c.answer} every time: ${c.reason}, ${c.history.join(' → ')}, compensates [${c.compensated.join(',')}]`, async () => {
      const h = harness('saga');
      h.participants.script(c.at, 'action', c.answer);
      const r = await run(h);
      expect(r.error).to.be.instanceOf(DomainError);
      expect(r.error!.reason).to.equal(c.reason);
      const gid = onlyGid(h);
      expect(h.txLog.history.get(gid)).to.deep.equal(c.history);
      expect(h.participants.order('compensate')).to.deep.equal(c.compensated);
      // Steps of the waves after the failed one's never ran: [a], [b, c], [d].
      const later = { a: ['b', 'c', 'd'], b: ['d'], c: ['d'], d: [] }[c.at]!;
      for (const s of later) expect(h.participants.made(s, 'action')).to.have.length(0);
      const attempts = h.participants.made(c.at, 'action').length;
      if (c.answer === 'refused' && c.at !== 'd') expect(attempts).to.equal(1);
      else expect(attempts).to.be.greaterThan(1);
      if (c.at === 'd') {
        // Past the pivot nothing is undone: the transaction is left to recovery, due later.
        expect(h.txLog.nextAttemptAt(gid)!.getTime()).to.be.greaterThan(Date.now());
        expect((await h.txLog.get(gid))!.lastError).to.match(/^step d is not finished yet/);
      }
    });
  }

  for (const answer of ['unavailable', 'timeout', 'unknown'] as const) {
    it(`retries a step that answered ${answer} once, and commits`, async () => {
      const h = harness('saga');
      h.participants.script('b', 'action', answer, 'ok');
      const r = await run(h);
      expect(r.value).to.deep.equal(['a', 'b', 'c', 'd']);
      expect(h.participants.made('b', 'action')).to.have.length(2);
      expect(h.txLog.history.get(onlyGid(h))).to.deep.equal(['RUNNING', 'COMMITTED']);
    });
  }

  it('compensates a step refused after an unknown answer: the first call may have landed', async () => {
    const h = harness('saga');
    h.participants.script('b', 'action', 'timeout', 'refused');
    const r = await run(h);
    expect(r.error!.reason).to.equal(REFUSAL_REASON);
    expect(h.participants.order('compensate')).to.deep.equal(['c', 'b', 'a']);
  });

  it('plans waves by needs, the pivot after every step that can be undone', () => {
    const h = harness('saga');
    const p = h.participants;
    const a = p.step('a', 'p1', { compensable: true });
    const b = p.step('b', 'p1', { needs: [a], compensable: true });
    const c = p.step('c', 'p2', { compensable: true });
    const d = p.step('d', 'p3', { needs: [a], mustSucceed: true });
    const e = p.step('e', 'p3', { needs: [d], mustSucceed: true });
    const f = p.step('f', 'p2', { mustSucceed: true });
    const waves = sagaPlan(
      defineFlow({ name: 'plan', steps: [a, b, c, d, e, f], output: () => 0 }),
    );
    // b shares p1 with a but waits for a only because it needs it; c needs nothing; d and f wait
    // for b, the last step that can be undone; e needs d.
    expect(waves.map((w) => w.map((s) => s.id))).to.deep.equal([
      ['a', 'c'],
      ['b'],
      ['d', 'f'],
      ['e'],
    ]);
    expect(() => defineFlow({ name: 'bad', steps: [a, d, b], output: () => 0 })).to.throw(
      /step b comes after a step that must succeed/,
    );
  });

  it('leaves a compensation that keeps failing to recovery, still COMPENSATING', async () => {
    const h = harness('saga');
    h.participants.script('c', 'action', 'refused');
    h.participants.script('a', 'compensate', 'unavailable');
    const r = await run(h);
    expect(r.error!.reason).to.equal(REFUSAL_REASON);
    const gid = onlyGid(h);
    expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING', 'COMPENSATING']);
    expect(h.participants.made('b', 'compensate')).to.have.length(1);
    expect(h.participants.made('a', 'compensate').length).to.be.greaterThan(1);
    expect((await h.txLog.get(gid))!.lastError).to.match(/^compensation of a: UNAVAILABLE/);
  });

  // A refund's shape: its first step cannot be undone (no compensation), the rest must succeed.
  function refundLike(h: Harness) {
    const p = h.participants;
    const pivot = p.step('pivot', 'p1');
    const after = p.step('after', 'p2', { needs: [pivot], mustSucceed: true });
    const flow = defineFlow({ name: 'refundlike', steps: [pivot, after], output: () => 'done' });
    h.engine.register(flow);
    return flow;
  }

  for (const answer of ['unavailable', 'timeout', 'unknown'] as const) {
    it(`never ends a saga whose step with no compensation answered ${answer}: it may have run`, async () => {
      const h = harness('saga');
      const flow = refundLike(h);
      h.participants.script('pivot', 'action', answer);
      const error = await h.engine.run(flow, { id: 1 }).then(
        () => undefined,
        (err: DomainError) => err,
      );
      // Not ABORTED (chaos found a refund ended so while its payment had turned REFUNDED): left
      // RUNNING for recovery, which asks the step again and goes forward.
      expect(error?.reason).to.equal('UNAVAILABLE');
      const gid = onlyGid(h);
      expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING']);
      expect(h.participants.order('compensate')).to.deep.equal([]);
      h.participants.script('pivot', 'action', 'ok');
      await h.engine.recover(gid);
      expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING', 'COMMITTED']);
      expect(h.participants.made('after', 'action')).to.have.length(1);
    });
  }

  it('moves nothing once recovery has claimed the transaction from under a run', async () => {
    const h = harness('saga');
    // b keeps timing out until the deadline; meanwhile recovery claims the transaction (its
    // owner paused past its lease, say) and finishes it forward.
    h.participants.script('b', 'action', 'timeout');
    const running = run(h);
    await new Promise((r) => setTimeout(r, 20));
    const gid = onlyGid(h);
    const far = new Date(Date.now() + 3_600_000);
    expect(await h.txLog.claimDue('other', far, far, 10)).to.deep.equal([{ gid, claim: 1 }]);
    // The stale run reaches its deadline and would compensate: its claim is stale, so the log
    // refuses it, and no compensation runs.
    const r = await running;
    expect(r.error?.reason).to.equal('UNAVAILABLE');
    expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING']);
    expect(h.participants.order('compensate')).to.deep.equal([]);
    await h.txLog.postpone(gid, far, 'stale', new Date(), 0);
    expect((await h.txLog.get(gid))!.lastError).to.not.equal('stale');
  });
});
