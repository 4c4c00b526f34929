import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { testDatabase, type TestDatabase } from '../../../test/support/infra';
import { POINT_MIGRATIONS } from './migrations';
import { Wallets } from './wallets';

describe('wallets (real MariaDB)', () => {
  let t: TestDatabase;
  let wallets: Wallets;

  before(async () => {
    t = await testDatabase('point', POINT_MIGRATIONS);
    wallets = new Wallets(t.db);
  });
  after(() => t.drop());

  async function ledgerSum(userId: string): Promise<number> {
    const [row] = await t.db.query<{ s: string | null }>(
      `SELECT SUM(CASE type WHEN 'USE' THEN -amount ELSE amount END) AS s FROM point_ledger WHERE user_id = ?`,
      [userId],
    );
    return Number(row?.s ?? 0);
  }

  it('reads 0 for a user never seen, and creates the wallet on the first charge', async () => {
    expect(await wallets.balance('newcomer')).to.equal(0);
    expect(await wallets.charge('newcomer', 700, 'r1', new Date())).to.equal(700);
    expect(await wallets.balance('newcomer')).to.equal(700);
  });

  it('applies 100 concurrent charges of one user, none lost, balance equal to the ledger', async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => wallets.charge('busy', 10 + i, `c${i}`, new Date())));
    const expected = Array.from({ length: 100 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0);
    expect(await wallets.balance('busy')).to.equal(expected);
    expect(await ledgerSum('busy')).to.equal(expected);
    const history = await wallets.history('busy', 100);
    expect(history).to.have.length(100);
    expect(history[0]!.balanceAfter).to.equal(expected);
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
});
