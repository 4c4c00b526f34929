import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import type { TxState } from './log';
import { MemoryTxLog } from './memoryLog';
import { REFUSAL_REASON, harness, onlyGid, runPayLike, type Answer } from './testkit';
import { decideOutcome } from './xa';

const run = runPayLike;
const sorted = (xs: string[]) => [...xs].sort();

describe('XA runner (scripted participants)', () => {
  it('prepares one branch per participant, decides, then commits every participant', async () => {
    const h = harness('xa');
    const r = await run(h);
    expect(r.value).to.deep.equal(['a', 'b', 'c', 'd']);
    const gid = onlyGid(h);
    expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING', 'COMMITTING', 'COMMITTED']);
    const actions = h.participants.calls.filter((c) => c.kind === 'action');
    // The branch is the participant's; it prepares after that participant's last step.
    expect(actions.map((c) => [c.target, c.branchId, c.prepare])).to.deep.equal([
      ['a', 'p1', false],
      ['b', 'p2', true],
      ['c', 'p3', true],
      ['d', 'p1', true],
    ]);
    expect(sorted(h.participants.order('commit'))).to.deep.equal(['p1', 'p2', 'p3']);
    expect(h.participants.order('rollback')).to.deep.equal([]);
    // The decision is in the log before any phase-2 call could have been made.
    expect((await h.txLog.get(gid))!.outcome).to.deep.equal({
      ok: true,
      value: ['a', 'b', 'c', 'd'],
    });
  });

  // What the flow answers when one step answers the same: written out, not derived. An XA
  // action is called once, never retried; every participant that may hold a branch rolls back.
  const cases: {
    at: string;
    answer: Exclude<Answer, 'ok'>;
    reason: string;
    history: TxState[];
    rolledBack: string[];
    called: string[];
  }[] = [
    {
      at: 'a',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'ABORTED'],
      rolledBack: [],
      called: ['a'],
    },
    {
      at: 'b',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'ABORTING', 'ABORTED'],
      rolledBack: ['p1', 'p3'],
      called: ['a', 'b', 'c', 'd'],
    },
    {
      at: 'c',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'ABORTING', 'ABORTED'],
      rolledBack: ['p1', 'p2'],
      called: ['a', 'b', 'c', 'd'],
    },
    {
      at: 'd',
      answer: 'refused',
      reason: REFUSAL_REASON,
      history: ['RUNNING', 'ABORTING', 'ABORTED'],
      rolledBack: ['p1', 'p2', 'p3'],
      called: ['a', 'b', 'c', 'd'],
    },
  ];
  for (const answer of ['unavailable', 'timeout', 'unknown'] as const) {
    cases.push(
      {
        at: 'a',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'ABORTING', 'ABORTED'],
        rolledBack: ['p1'],
        called: ['a'],
      },
      {
        at: 'b',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'ABORTING', 'ABORTED'],
        rolledBack: ['p1', 'p2', 'p3'],
        called: ['a', 'b', 'c', 'd'],
      },
      {
        at: 'c',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'ABORTING', 'ABORTED'],
        rolledBack: ['p1', 'p2', 'p3'],
        called: ['a', 'b', 'c', 'd'],
      },
      {
        at: 'd',
        answer,
        reason: 'UNAVAILABLE',
        history: ['RUNNING', 'ABORTING', 'ABORTED'],
        rolledBack: ['p1', 'p2', 'p3'],
        called: ['a', 'b', 'c', 'd'],
      },
    );
  }

  for (const c of cases) {
    it(`step ${c.at} answering ${c.answer}: ${c.reason}, ${c.history.join(' → ')}, rolls back [${c.rolledBack.join(',')}]`, async () => {
      const h = harness('xa');
      h.participants.script(c.at, 'action', c.answer);
      const r = await run(h);
      expect(r.error).to.be.instanceOf(DomainError);
      expect(r.error!.reason).to.equal(c.reason);
      expect(h.txLog.history.get(onlyGid(h))).to.deep.equal(c.history);
      expect(sorted(h.participants.order('rollback'))).to.deep.equal(c.rolledBack);
      expect(h.participants.order('commit')).to.deep.equal([]);
      expect(h.participants.order('action')).to.deep.equal(c.called);
      expect(h.participants.made(c.at, 'action')).to.have.length(1);
    });
  }

  it('retries a phase-2 commit that failed once, and ends COMMITTED', async () => {
    const h = harness('xa');
    h.participants.script('p2', 'commit', 'unavailable', 'ok');
    const r = await run(h);
    expect(r.value).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(h.participants.made('p2', 'commit')).to.have.length(2);
    expect(h.txLog.history.get(onlyGid(h))).to.deep.equal(['RUNNING', 'COMMITTING', 'COMMITTED']);
  });

  it('answers the client once decided, and leaves a commit that keeps failing to recovery', async () => {
    const h = harness('xa');
    h.participants.script('p3', 'commit', 'unavailable');
    const r = await run(h);
    expect(r.value).to.deep.equal(['a', 'b', 'c', 'd']);
    const gid = onlyGid(h);
    expect(h.txLog.history.get(gid)).to.deep.equal(['RUNNING', 'COMMITTING']);
    expect((await h.txLog.get(gid))!.lastError).to.match(/^phase 2 commit: UNAVAILABLE/);
    expect(h.txLog.nextAttemptAt(gid)!.getTime()).to.be.greaterThan(Date.now());
  });

  it('retries a refused rollback too: phase 2 cannot say no', async () => {
    const h = harness('xa');
    h.participants.script('b', 'action', 'refused');
    h.participants.script('p1', 'rollback', 'refused', 'ok');
    const r = await run(h);
    expect(r.error!.reason).to.equal(REFUSAL_REASON);
    expect(h.participants.made('p1', 'rollback')).to.have.length(2);
    expect(h.txLog.history.get(onlyGid(h))).to.deep.equal(['RUNNING', 'ABORTING', 'ABORTED']);
  });
});

describe('the XA decision for an in-doubt participant', () => {
  const seed = (log: MemoryTxLog, state: TxState, deadlineMs: number) =>
    log.seed({
      gid: 'g',
      flow: 'pay',
      mode: 'xa',
      state,
      deadlineAt: new Date(Date.now() + deadlineMs),
    });

  it('presumes abort for a gid it never logged', async () => {
    expect(await decideOutcome(new MemoryTxLog(), 'nobody')).to.equal('ROLLBACK');
  });

  for (const [state, decision] of [
    ['COMMITTING', 'COMMIT'],
    ['COMMITTED', 'COMMIT'],
    ['ABORTING', 'ROLLBACK'],
    ['ABORTED', 'ROLLBACK'],
  ] as const) {
    it(`answers ${decision} for a ${state} transaction`, async () => {
      const log = new MemoryTxLog();
      seed(log, state, 60_000);
      expect(await decideOutcome(log, 'g')).to.equal(decision);
    });
  }

  it('answers PENDING while a RUNNING transaction is within its time to live', async () => {
    const log = new MemoryTxLog();
    seed(log, 'RUNNING', 60_000);
    expect(await decideOutcome(log, 'g')).to.equal('PENDING');
    expect(log.history.get('g')).to.deep.equal(['RUNNING']);
  });

  it('aborts a RUNNING transaction past its deadline before answering ROLLBACK', async () => {
    const log = new MemoryTxLog();
    seed(log, 'RUNNING', -1);
    expect(await decideOutcome(log, 'g')).to.equal('ROLLBACK');
    expect(log.history.get('g')).to.deep.equal(['RUNNING', 'ABORTING']);
    // Recovery finishes it at once.
    expect(log.nextAttemptAt('g')!.getTime()).to.be.at.most(Date.now());
  });
});
