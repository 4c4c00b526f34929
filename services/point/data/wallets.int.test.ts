import { expect } from 'chai';
import { writeTxContext } from '../../../lib/participant/context';
import { DomainError } from '../../../lib/errors';
import { Participant } from '../../../lib/participant/participant';
import { testDatabase, type TestDatabase } from '../../../test/support/infra';
import { POINT_MIGRATIONS } from './migrations';
import { Wallets } from './wallets';

describe('wallets (real MariaDB)', () => {
  let t: TestDatabase;
  let wallets: Wallets;

  before(async () => {
    t = await testDatabase('point', POINT_MIGRATIONS);
    wallets = new Wallets(t.db, new Participant('point', t.db, undefined));
  });
  after(() => t.drop());

  async function ledgerSum(userId: string): Promise<number> {
    const [row] = await t.db.query<{ s: string | null }>(
      `SELECT SUM(CASE type WHEN 'USE' THEN -amount ELSE amount END) AS s FROM point_ledger WHERE user_id = ?`,
      [userId],
    );
    return Number(row?.s ?? 0);
  }

  async function events(userId: string): Promise<unknown[][]> {
    const rows = await t.db.query<{ type: string; payload: string | Record<string, unknown> }>(
      'SELECT type, payload FROM outbox WHERE aggregate_id = ? ORDER BY id',
      [userId],
    );
    return rows.map((r) => {
      const p = (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<
        string,
        unknown
      >;
      return [r.type, p.amount, p.balance, p.reference];
    });
  }

  it('reads 0 for a user never seen, and creates the wallet on the first charge', async () => {
    expect(await wallets.balance('newcomer')).to.equal(0);
    expect(await wallets.charge('newcomer', 700, 'r1', new Date())).to.equal(700);
    expect(await wallets.balance('newcomer')).to.equal(700);
  });

  it('applies 100 concurrent charges of one user, none lost, balance equal to the ledger', async () => {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => wallets.charge('busy', 10 + i, `c${i}`, new Date())),
    );
    const expected = Array.from({ length: 100 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0);
    expect(await wallets.balance('busy')).to.equal(expected);
    expect(await ledgerSum('busy')).to.equal(expected);
    const history = await wallets.history('busy', 100);
    expect(history).to.have.length(100);
    expect(history[0].balanceAfter).to.equal(expected);
  });

  it('refuses a charge past 100,000,000 and changes nothing', async () => {
    for (let i = 0; i < 100; i++) await wallets.charge('rich', 1_000_000, `c${i}`, new Date());
    let refused: unknown;
    try {
      await wallets.charge('rich', 1, 'over', new Date());
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(DomainError);
    expect((refused as DomainError).reason).to.equal('BALANCE_LIMIT_EXCEEDED');
    expect(await wallets.balance('rich')).to.equal(100_000_000);
    expect(await wallets.history('rich', 100)).to.have.length(100);
    expect(await events('rich')).to.have.length(100);
  });

  it('lists history newest first with the balance after each entry', async () => {
    await wallets.charge('h', 5, 'a', new Date());
    await wallets.charge('h', 7, 'b', new Date());
    const entries = await wallets.history('h', 50);
    expect(entries.map((e) => [e.type, e.amount, e.balanceAfter, e.reference])).to.deep.equal([
      ['CHARGE', 7, 12, 'b'],
      ['CHARGE', 5, 5, 'a'],
    ]);
  });

  it('keeps the balance equal to the ledger through uses, refunds and compensations', async () => {
    const saga = (gid: string, op: 'action' | 'compensate' = 'action') =>
      writeTxContext({ gid, branchId: 'use-points', mode: 'saga', op, prepare: false });
    await wallets.charge('mixed', 1000, 'c1', new Date());
    expect((await wallets.use(saga('m1'), 'mixed', 300, 'p1', new Date())).balance).to.equal(700);
    expect((await wallets.use(saga('m2'), 'mixed', 200, 'p2', new Date())).balance).to.equal(500);
    let refused: unknown;
    try {
      await wallets.use(saga('m3'), 'mixed', 501, 'p3', new Date());
    } catch (err) {
      refused = err;
    }
    expect((refused as DomainError).reason).to.equal('INSUFFICIENT_POINTS');
    expect((await wallets.undoUse(saga('m1', 'compensate'), new Date()))?.balance).to.equal(800);
    expect(await wallets.undoUse(saga('m1', 'compensate'), new Date())).to.equal(undefined);
    expect(await wallets.undoUse(saga('m9', 'compensate'), new Date())).to.equal(undefined);
    expect(
      (
        await wallets.refund(
          writeTxContext({
            gid: 'm4',
            branchId: 'refund-points',
            mode: 'saga',
            op: 'action',
            prepare: false,
          }),
          'mixed',
          200,
          'p2',
          new Date(),
        )
      ).balance,
    ).to.equal(1000);
    const entries = await wallets.history('mixed', 100);
    expect(entries.map((e) => [e.type, e.amount, e.balanceAfter, e.reference])).to.deep.equal([
      ['REFUND', 200, 1000, 'p2'],
      ['REFUND', 300, 800, 'p1'],
      ['USE', 200, 500, 'p2'],
      ['USE', 300, 700, 'p1'],
      ['CHARGE', 1000, 1000, 'c1'],
    ]);
    expect(await wallets.balance('mixed')).to.equal(await ledgerSum('mixed'));
    expect(await events('mixed')).to.deep.equal([
      ['PointCharged', 1000, 1000, 'c1'],
      ['PointUsed', 300, 700, 'p1'],
      ['PointUsed', 200, 500, 'p2'],
      ['PointRefunded', 300, 800, 'p1'],
      ['PointRefunded', 200, 1000, 'p2'],
    ]);
  });

  it('emits PointCharged for every committed charge and nothing for a refused one', async () => {
    expect(await events('newcomer')).to.deep.equal([['PointCharged', 700, 700, 'r1']]);
    expect(await events('busy')).to.have.length(100);
    expect(await events('h')).to.deep.equal([
      ['PointCharged', 5, 5, 'a'],
      ['PointCharged', 7, 12, 'b'],
    ]);
  });
});
