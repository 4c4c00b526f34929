import { expect } from 'chai';
import { createLogger } from '../log';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { Housekeeping, type EndedTransaction } from './housekeeping';
import { PARTICIPANT_MIGRATIONS } from './migrations';
import { insertEvent } from './outbox';

const MINUTE = 60_000;

describe('participant housekeeping (real MariaDB)', () => {
  let t: TestDatabase;
  /** What the coordinator would answer: these gids have ended, at these times. */
  let ended: Map<string, Date>;
  let asked: string[][];
  let released: number;
  let keeper: Housekeeping;

  before(async () => {
    t = await testDatabase('point', PARTICIPANT_MIGRATIONS);
  });
  beforeEach(() => {
    ended = new Map();
    asked = [];
    released = 0;
    keeper = new Housekeeping(
      t.db,
      async (gids): Promise<EndedTransaction[]> => {
        asked.push(gids);
        return gids.flatMap((gid) => {
          const at = ended.get(gid);
          return at ? [{ gid, endedAt: at }] : [];
        });
      },
      { releasePollMs: 1000, collectIntervalMs: 1000, retentionMs: 10 * MINUTE, batch: 100 },
      createLogger('silent'),
      () => released++,
    );
  });
  after(() => t.drop());

  const held = async (aggregateId: string) =>
    (
      await t.db.query<{ hold_gid: string | null }>(
        'SELECT hold_gid FROM outbox WHERE aggregate_id = ?',
        [aggregateId],
      )
    ).map((r) => r.hold_gid);

  async function event(aggregateId: string, holdFor?: string) {
    await t.db.transaction(async (sql) => {
      await insertEvent(sql, { type: 'T', version: 1, aggregateId, payload: {} }, new Date(), {
        holdFor,
      });
    });
  }

  it('releases the held events of transactions that ended, and keeps the others held', async () => {
    await event('a1', 'g-ended');
    await event('a2', 'g-ended');
    await event('a3', 'g-running');
    await event('a4');
    ended.set('g-ended', new Date());
    expect(await keeper.releaseHeld()).to.equal(2);
    expect(released).to.equal(1);
    expect(await held('a1')).to.deep.equal([null]);
    expect(await held('a2')).to.deep.equal([null]);
    expect(await held('a3')).to.deep.equal(['g-running']);
    expect(asked.map((gids) => [...gids].sort())).to.deep.equal([['g-ended', 'g-running']]);
  });

  it('asks nothing and wakes nobody when nothing is held', async () => {
    await t.db.execute('UPDATE outbox SET hold_gid = NULL');
    expect(await keeper.releaseHeld()).to.equal(0);
    expect(asked).to.deep.equal([]);
    expect(released).to.equal(0);
  });

  it('collects barrier rows only of transactions that ended longer ago than the retention', async () => {
    const now = new Date();
    const old = new Date(now.getTime() - 30 * MINUTE);
    const rows: [string, Date][] = [
      ['g-old-ended', old],
      ['g-old-ended-recently', old],
      ['g-old-open', old],
      ['g-new-ended', now],
    ];
    for (const [gid, at] of rows) {
      await t.db.execute(
        "INSERT INTO tx_barrier (gid, branch_id, op, origin, created_at) VALUES (?, 'b', 'action', 'action', ?)",
        [gid, at],
      );
    }
    ended.set('g-old-ended', new Date(now.getTime() - 20 * MINUTE));
    ended.set('g-old-ended-recently', new Date(now.getTime() - MINUTE));
    ended.set('g-new-ended', new Date(now.getTime() - 20 * MINUTE));
    expect(await keeper.collectBarrier(now)).to.equal(1);
    const left = await t.db.query<{ gid: string }>('SELECT gid FROM tx_barrier ORDER BY gid');
    expect(left.map((r) => r.gid)).to.deep.equal([
      'g-new-ended',
      'g-old-ended-recently',
      'g-old-open',
    ]);
    // Only rows old enough were asked about.
    expect(asked.flat().sort()).to.deep.equal([
      'g-old-ended',
      'g-old-ended-recently',
      'g-old-open',
    ]);
  });
});
