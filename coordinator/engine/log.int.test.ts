import { expect } from 'chai';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { COORDINATOR_MIGRATIONS } from '../data/migrations';
import { SqlTxLog, type TxLog } from './log';

describe('transaction log (real MariaDB)', () => {
  let t: TestDatabase;
  let log: TxLog;

  before(async () => {
    t = await testDatabase('coordinator', COORDINATOR_MIGRATIONS);
    log = new SqlTxLog(t.db);
  });
  after(() => t.drop());

  const past = () => new Date(Date.now() - 1000);

  async function begin(gid: string, key?: string): Promise<boolean> {
    return log.begin(
      {
        gid,
        flow: 'pay',
        mode: 'saga',
        payload: { gid },
        owner: 'a',
        deadlineAt: past(),
        leaseUntil: past(),
        idempotencyKey: key,
        requestHash: key ? 'h' : undefined,
      },
      new Date(),
    );
  }

  it('lets two coordinators claim 40 overdue transactions, each exactly once', async () => {
    const gids = Array.from({ length: 40 }, (_, i) => `claim${String(i).padStart(2, '0')}`);
    for (const gid of gids) await begin(gid);
    const lease = new Date(Date.now() + 60_000);
    const claimed: string[] = [];
    for (let round = 0; round < 10; round++) {
      const batches = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          log.claimDue(i % 2 ? 'one' : 'two', new Date(), lease, 5),
        ),
      );
      claimed.push(
        ...batches
          .flat()
          .map((c) => c.gid)
          .filter((g) => g.startsWith('claim')),
      );
    }
    expect(claimed.length).to.equal(new Set(claimed).size);
    expect([...claimed].sort()).to.deep.equal(gids);
    expect(await log.claimDue('three', new Date(), lease, 100)).to.deep.equal([]);
  });

  it('lets a run move its transaction only under the claim it started with', async () => {
    await begin('fence1');
    const far = new Date(Date.now() + 3_600_000);
    // Recovery claims it (the request's run, claim 0, has lost its lease).
    const claims = await log.claimDue('other', far, far, 1000);
    expect(claims.find((c) => c.gid === 'fence1')).to.deep.equal({ gid: 'fence1', claim: 1 });
    const now = new Date();
    expect(await log.transition('fence1', 'RUNNING', 'COMPENSATING', now, { claim: 0 })).to.equal(
      false,
    );
    expect(await log.park('fence1', 'stale', now, 0)).to.equal(false);
    await log.postpone('fence1', far, 'stale', now, 0);
    expect((await log.get('fence1'))!).to.include({ state: 'RUNNING', claim: 1, lastError: null });
    expect(await log.transition('fence1', 'RUNNING', 'COMMITTED', now, { claim: 1 })).to.equal(
      true,
    );
  });

  it('moves a state only from the state it expects', async () => {
    await begin('cas1');
    const now = new Date();
    const results = await Promise.all([
      log.transition('cas1', 'RUNNING', 'COMMITTING', now),
      log.transition('cas1', 'RUNNING', 'ABORTING', now),
    ]);
    expect(results.filter(Boolean)).to.have.length(1);
    const state = (await log.get('cas1'))!.state;
    expect(state).to.be.oneOf(['COMMITTING', 'ABORTING']);
    expect(await log.transition('cas1', 'RUNNING', 'ABORTED', now)).to.equal(false);
  });

  it('refuses a second transaction with the same idempotency key', async () => {
    expect(await begin('idem1', 'u1:k')).to.equal(true);
    expect(await begin('idem2', 'u1:k')).to.equal(false);
    expect((await log.byIdempotencyKey('u1:k'))!.gid).to.equal('idem1');
  });

  it('keeps branch views, their last errors and the span from the first call to the last answer', async () => {
    await begin('br1');
    const first = new Date('2030-01-01T00:00:00.100Z');
    const failed = new Date('2030-01-01T00:00:00.200Z');
    const done = new Date('2030-01-01T00:00:00.900Z');
    await log.noteBranch(
      'br1',
      {
        branchId: 'use-points',
        participant: 'point',
        action: 'action',
        state: 'FAILED',
        attempts: 2,
        lastError: 'UNAVAILABLE: down',
        startedAt: first,
        endedAt: failed,
      },
      new Date(),
    );
    // A later run knows only its own calls: the first start stays.
    await log.transition('br1', 'RUNNING', 'COMMITTED', new Date(), {
      branches: [
        {
          branchId: 'use-points',
          participant: 'point',
          action: 'action',
          state: 'DONE',
          attempts: 3,
          lastError: null,
          startedAt: new Date('2030-01-01T00:00:00.800Z'),
          endedAt: done,
        },
      ],
    });
    expect(await log.branches('br1')).to.deep.equal([
      {
        branchId: 'use-points',
        participant: 'point',
        action: 'action',
        state: 'DONE',
        attempts: 3,
        lastError: 'UNAVAILABLE: down',
        startedAt: first,
        endedAt: done,
      },
    ]);
  });

  it('appends every state change and parking to the history, in the statement that makes it', async () => {
    await begin('hist1');
    const t1 = new Date('2030-01-01T00:00:01.000Z');
    const t2 = new Date('2030-01-01T00:00:02.000Z');
    const t3 = new Date('2030-01-01T00:00:03.000Z');
    await log.transition('hist1', 'RUNNING', 'COMMITTING', t1);
    await log.park('hist1', 'phase 2 commit: UNAVAILABLE', t2, 0);
    expect(await log.transition('hist1', 'RUNNING', 'ABORTING', t3)).to.equal(false);
    await log.transition('hist1', 'COMMITTING', 'COMMITTED', t3);
    const [row] = await t.db.query<{ history: unknown; parked_at: Date | null }>(
      'SELECT history, parked_at FROM global_tx WHERE gid = ?',
      ['hist1'],
    );
    // mysql2 hands JSON columns back parsed on some servers, as text on others.
    const history = typeof row.history === 'string' ? JSON.parse(row.history) : row.history;
    expect(history).to.deep.equal([
      { at: t1.toISOString(), event: 'MOVED', state: 'COMMITTING', detail: null },
      {
        at: t2.toISOString(),
        event: 'PARKED',
        state: 'COMMITTING',
        detail: 'phase 2 commit: UNAVAILABLE',
      },
      { at: t3.toISOString(), event: 'MOVED', state: 'COMMITTED', detail: null },
    ]);
    // Ended: parked no more.
    expect(row.parked_at).to.equal(null);
  });

  it('records the branch view only with the transition that moved the state', async () => {
    await begin('br2');
    const branch = (branchId: string, state: string, attempts = 1) => ({
      branchId,
      participant: 'reservation',
      action: 'action',
      state,
      attempts,
      lastError: null,
      startedAt: null,
      endedAt: null,
    });
    const now = new Date();
    const [won, lost] = await Promise.all([
      log.transition('br2', 'RUNNING', 'COMMITTED', now, {
        branches: [branch('begin-payment', 'DONE'), branch('confirm', 'DONE', 2)],
      }),
      log.transition('br2', 'RUNNING', 'ABORTED', new Date(now.getTime() + 1), {
        branches: [branch('begin-payment', 'REFUSED'), branch('sell-seat', 'REFUSED')],
      }),
    ]);
    const winner = won ? ['begin-payment', 'confirm'] : ['begin-payment', 'sell-seat'];
    expect([won, lost].filter(Boolean)).to.have.length(1);
    const views = await log.branches('br2');
    expect(views.map((b) => b.branchId).sort()).to.deep.equal(winner);
    expect(new Set(views.map((b) => b.state))).to.deep.equal(new Set([won ? 'DONE' : 'REFUSED']));
    // A transition that finds the state moved writes nothing.
    expect(
      await log.transition('br2', 'RUNNING', 'ABORTED', new Date(), {
        branches: [branch('point', 'REFUSED')],
      }),
    ).to.equal(false);
    expect(await log.branches('br2')).to.have.length(2);
  });

  it('frees an idempotency key only after an UNAVAILABLE abort of the same request, once', async () => {
    const unavailable = { ok: false as const, reason: 'UNAVAILABLE', message: 'x', metadata: {} };
    const refused = { ...unavailable, reason: 'INSUFFICIENT_POINTS' };
    await begin('void1', 'k-void');
    expect(await log.releaseVoidKey('k-void', 'h')).to.equal(false); // still RUNNING
    await log.transition('void1', 'RUNNING', 'ABORTED', new Date(), { outcome: unavailable });
    expect(await log.releaseVoidKey('k-void', 'other-hash')).to.equal(false);
    const released = await Promise.all([1, 2, 3].map(() => log.releaseVoidKey('k-void', 'h')));
    expect(released.filter(Boolean)).to.have.length(1);
    expect(await begin('void2', 'k-void')).to.equal(true);
    expect((await log.byIdempotencyKey('k-void'))?.gid).to.equal('void2');

    await begin('refused1', 'k-refused');
    await log.transition('refused1', 'RUNNING', 'ABORTED', new Date(), { outcome: refused });
    expect(await log.releaseVoidKey('k-refused', 'h')).to.equal(false);
    await begin('done1', 'k-done');
    await log.transition('done1', 'RUNNING', 'COMMITTED', new Date(), {
      outcome: { ok: true, value: {} },
    });
    expect(await log.releaseVoidKey('k-done', 'h')).to.equal(false);
  });
});
