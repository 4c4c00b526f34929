import { expect } from 'chai';
import type { TxMode } from '../../lib/txMode';
import { defineFlow, type AnyFlow } from './flow';
import type { Outcome, TxState } from './log';
import { recoveryAction } from './recover';
import { harness, type Harness } from './testkit';

// Two saga shapes: with a pivot (d must succeed: recovered forward) and without one.
function flows(h: Harness): { withPivot: AnyFlow; withoutPivot: AnyFlow } {
  const p = h.participants;
  const a = p.step('a', 'p1', { compensable: true });
  const b = p.step('b', 'p2', { needs: [a], compensable: true });
  const c = p.step('c', 'p3', { needs: [a], compensable: true });
  const d = p.step('d', 'p1', { needs: [a], mustSucceed: true });
  const output = () => 'done';
  const withPivot = defineFlow({ name: 'with-pivot', steps: [a, b, c, d], output });
  const withoutPivot = defineFlow({ name: 'without-pivot', steps: [a, b, c], output });
  h.engine.register(withPivot, withoutPivot);
  return { withPivot, withoutPivot };
}

const refused: Outcome = { ok: false, reason: 'SEAT_UNAVAILABLE', message: 'taken', metadata: {} };
const committed: Outcome = { ok: true, value: 'done' };
const HOUR = 3_600_000;

describe("recovery's decision", () => {
  const h = harness('saga');
  const { withPivot, withoutPivot } = flows(h);
  const now = new Date();
  const before = new Date(now.getTime() + 1000);
  const past = new Date(now.getTime() - 1000);

  const table: [TxState, TxMode, Date, AnyFlow, string | undefined][] = [
    ['COMMITTING', 'xa', before, withPivot, 'commit'],
    ['ABORTING', 'xa', past, withPivot, 'rollback'],
    ['RUNNING', 'xa', before, withPivot, 'abort'],
    ['RUNNING', 'xa', past, withoutPivot, 'abort'],
    ['COMPENSATING', 'saga', before, withPivot, 'compensate'],
    ['RUNNING', 'saga', before, withoutPivot, 'resume'],
    ['RUNNING', 'saga', past, withoutPivot, 'compensate'],
    ['RUNNING', 'saga', past, withPivot, 'resume'],
    ['COMMITTED', 'saga', past, withPivot, undefined],
    ['ABORTED', 'xa', past, withPivot, undefined],
  ];
  for (const [state, mode, deadlineAt, flow, action] of table) {
    const when = deadlineAt === past ? 'past its deadline' : 'within its deadline';
    it(`${mode} ${state} ${when} (${flow.name}): ${action ?? 'nothing'}`, () => {
      expect(recoveryAction({ state, mode, deadlineAt }, flow, now)).to.equal(action);
    });
  }
});

describe('recovery from every logged state (scripted participants)', () => {
  // Each case: the transaction as a crash left it, what recovery then calls, and where it ends.
  const cases: {
    name: string;
    state: TxState;
    mode: TxMode;
    past?: boolean;
    pivot: boolean;
    outcome?: Outcome;
    history: TxState[];
    calls: Record<string, string[]>;
  }[] = [
    {
      name: 'XA decided to commit: resends every commit',
      state: 'COMMITTING',
      mode: 'xa',
      pivot: true,
      outcome: committed,
      history: ['COMMITTING', 'COMMITTED'],
      calls: { commit: ['p1', 'p2', 'p3'], rollback: [], action: [], compensate: [] },
    },
    {
      name: 'XA decided to abort: resends every rollback',
      state: 'ABORTING',
      mode: 'xa',
      pivot: true,
      outcome: refused,
      history: ['ABORTING', 'ABORTED'],
      calls: { commit: [], rollback: ['p1', 'p2', 'p3'], action: [], compensate: [] },
    },
    {
      name: 'XA interrupted before its decision: aborts on every participant',
      state: 'RUNNING',
      mode: 'xa',
      pivot: true,
      history: ['RUNNING', 'ABORTING', 'ABORTED'],
      calls: { commit: [], rollback: ['p1', 'p2', 'p3'], action: [], compensate: [] },
    },
    {
      name: 'saga interrupted within its deadline: runs forward again',
      state: 'RUNNING',
      mode: 'saga',
      pivot: false,
      history: ['RUNNING', 'COMMITTED'],
      calls: { action: ['a', 'b', 'c'], compensate: [], commit: [], rollback: [] },
    },
    {
      name: 'saga interrupted past its deadline: compensates every step in reverse',
      state: 'RUNNING',
      mode: 'saga',
      past: true,
      pivot: false,
      history: ['RUNNING', 'COMPENSATING', 'ABORTED'],
      calls: { action: [], compensate: ['c', 'b', 'a'], commit: [], rollback: [] },
    },
    {
      name: 'saga with a pivot, past its deadline: still runs forward',
      state: 'RUNNING',
      mode: 'saga',
      past: true,
      pivot: true,
      history: ['RUNNING', 'COMMITTED'],
      calls: { action: ['a', 'b', 'c', 'd'], compensate: [], commit: [], rollback: [] },
    },
    {
      name: 'saga compensating: finishes the compensations in reverse',
      state: 'COMPENSATING',
      mode: 'saga',
      pivot: true,
      outcome: refused,
      history: ['COMPENSATING', 'ABORTED'],
      calls: { action: [], compensate: ['c', 'b', 'a'], commit: [], rollback: [] },
    },
    {
      name: 'committed: nothing',
      state: 'COMMITTED',
      mode: 'saga',
      pivot: true,
      outcome: committed,
      history: ['COMMITTED'],
      calls: { action: [], compensate: [], commit: [], rollback: [] },
    },
    {
      name: 'aborted: nothing',
      state: 'ABORTED',
      mode: 'xa',
      pivot: true,
      outcome: refused,
      history: ['ABORTED'],
      calls: { action: [], compensate: [], commit: [], rollback: [] },
    },
  ];

  for (const c of cases) {
    for (const engineMode of ['saga', 'xa'] as const) {
      it(`${c.name} (${c.mode} transaction, coordinator now in ${engineMode} mode)`, async () => {
        const h = harness(engineMode);
        const { withPivot, withoutPivot } = flows(h);
        const flow = c.pivot ? withPivot : withoutPivot;
        h.txLog.seed({
          gid: 'g',
          flow: flow.name,
          mode: c.mode,
          state: c.state,
          outcome: c.outcome ?? null,
          deadlineAt: new Date(Date.now() + (c.past ? -HOUR : HOUR)),
        });
        await h.engine.recover('g');
        expect(h.txLog.history.get('g')).to.deep.equal(c.history);
        for (const [kind, targets] of Object.entries(c.calls)) {
          const order = h.participants.order(kind as 'action');
          const parallel = kind === 'commit' || kind === 'rollback';
          expect(parallel ? [...order].sort() : order, kind).to.deep.equal(targets);
        }
        for (const call of h.participants.calls) expect(call.gid).to.equal('g');
      });
    }
  }

  it('asks again later when a resumed saga step answers unknown: only a refusal compensates', async () => {
    const h = harness('saga');
    const { withoutPivot } = flows(h);
    h.participants.script('b', 'action', 'unavailable');
    // Asked until the deadline, as on the request path; then left for a later attempt.
    const deadlineAt = new Date(Date.now() + 100);
    h.txLog.seed({ gid: 'g', flow: withoutPivot.name, mode: 'saga', state: 'RUNNING', deadlineAt });
    await h.engine.recover('g');
    expect(h.txLog.history.get('g')).to.deep.equal(['RUNNING']);
    expect(h.participants.order('compensate')).to.deep.equal([]);
    expect(h.participants.made('b', 'action').length).to.be.greaterThan(1);
    expect(h.txLog.nextAttemptAt('g')!.getTime()).to.be.greaterThan(Date.now());
    expect((await h.txLog.get('g'))!.lastError).to.match(/^step b is not finished yet/);
  });

  it('compensates a resumed saga whose step refuses, that step included', async () => {
    const h = harness('saga');
    const { withoutPivot } = flows(h);
    h.participants.script('b', 'action', 'refused');
    h.txLog.seed({ gid: 'g', flow: withoutPivot.name, mode: 'saga', state: 'RUNNING' });
    await h.engine.recover('g');
    expect(h.txLog.history.get('g')).to.deep.equal(['RUNNING', 'COMPENSATING', 'ABORTED']);
    // An earlier run's call of b may still land: its null compensation blocks it. c ran beside b.
    expect(h.participants.order('compensate')).to.deep.equal(['c', 'b', 'a']);
  });

  it('keeps a compensation that fails COMPENSATING, due again later', async () => {
    const h = harness('saga');
    const { withoutPivot } = flows(h);
    h.participants.script('b', 'compensate', 'timeout');
    h.txLog.seed({
      gid: 'g',
      flow: withoutPivot.name,
      mode: 'saga',
      state: 'COMPENSATING',
      outcome: refused,
    });
    await h.engine.recover('g');
    expect(h.txLog.history.get('g')).to.deep.equal(['COMPENSATING']);
    expect(h.participants.order('compensate').filter((s) => s !== 'b')).to.deep.equal(['c']);
    expect((await h.txLog.get('g'))!.lastError).to.match(/^compensation of b: DEADLINE_EXCEEDED/);
  });

  it('refuses to recover a flow this coordinator does not know', async () => {
    const h = harness('saga');
    h.txLog.seed({ gid: 'g', flow: 'mystery', mode: 'saga', state: 'RUNNING' });
    let error: unknown;
    await h.engine.recover('g').catch((err: unknown) => (error = err));
    expect(String(error)).to.match(/unknown flow mystery/);
  });
});
