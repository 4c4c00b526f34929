import { expect } from 'chai';
import { Participant } from '../../lib/participant/participant';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { domainRefusal } from '../../test/support/refusals';
import { outboxEvents, sagaContext } from '../../test/support/tx';
import { POINT_MIGRATIONS } from './data/migrations';
import { Wallets } from './wallets';

describe('wallets (real MariaDB)', () => {
  let t: TestDatabase;
  let wallets: Wallets;

  before(async () => {
    t = await testDatabase('point', POINT_MIGRATIONS);
    wallets = new Wallets(t.db, new Participant('point', t.db, undefined));
  });
  after(() => t.drop());

  /** A charge by the wallet's owner; answers the charge's reference. */
  async function charge(userId: string, amount: number): Promise<string> {
    return (await wallets.charge(userId, { userId, amount })).reference;
  }
  const balance = (userId: string) => wallets.balance(userId, userId);
  const history = (userId: string, limit: number) => wallets.history(userId, userId, limit);

  async function ledgerSum(userId: string): Promise<number> {
    const [row] = await t.db.query<{ s: string | null }>(
      `SELECT SUM(CASE type WHEN 'USE' THEN -amount ELSE amount END) AS s FROM point_ledger WHERE user_id = ?`,
      [userId],
    );
    return Number(row?.s ?? 0);
  }

  async function events(userId: string): Promise<unknown[][]> {
    return (await outboxEvents(t.db, userId)).map(({ type, payload: p }) => [
      type,
      p.amount,
      p.balance,
      p.reference,
    ]);
  }

  let newcomerCharge: string;

  it('reads 0 for a user never seen, and creates the wallet on the first charge', async () => {
    expect(await balance('newcomer')).to.equal(0);
    const charged = await wallets.charge('newcomer', { userId: '', amount: 700 });
    newcomerCharge = charged.reference;
    expect(charged).to.deep.equal({
      userId: 'newcomer',
      amount: 700,
      balance: 700,
      reference: newcomerCharge,
    });
    expect(newcomerCharge).to.match(/^charge_/);
    expect(await balance('newcomer')).to.equal(700);
  });

  it('applies 100 concurrent charges of one user, none lost, balance equal to the ledger', async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => charge('busy', 10 + i)));
    const expected = Array.from({ length: 100 }, (_, i) => 10 + i).reduce((a, b) => a + b, 0);
    expect(await balance('busy')).to.equal(expected);
    expect(await ledgerSum('busy')).to.equal(expected);
    const entries = await history('busy', 100);
    expect(entries).to.have.length(100);
    expect(entries[0].balanceAfter).to.equal(expected);
  });

  it('refuses a charge past 100,000,000 and changes nothing', async () => {
    for (let i = 0; i < 100; i++) await charge('rich', 1_000_000);
    expect(await domainRefusal(charge('rich', 1))).to.equal('BALANCE_LIMIT_EXCEEDED');
    expect(await balance('rich')).to.equal(100_000_000);
    expect(await history('rich', 100)).to.have.length(100);
    expect(await events('rich')).to.have.length(100);
  });

  it('refuses to charge, or show, another user’s wallet (USER_MISMATCH)', async () => {
    expect(await domainRefusal(wallets.charge('mallory', { userId: 'h', amount: 5 }))).to.equal(
      'USER_MISMATCH',
    );
    expect(await domainRefusal(wallets.balance('mallory', 'newcomer'))).to.equal('USER_MISMATCH');
    expect(await domainRefusal(wallets.history('mallory', 'newcomer', 10))).to.equal(
      'USER_MISMATCH',
    );
    expect(await balance('mallory')).to.equal(0);
  });

  it('lists history newest first with the balance after each entry', async () => {
    const a = await charge('h', 5);
    const b = await charge('h', 7);
    const entries = await history('h', 50);
    expect(entries.map((e) => [e.type, e.amount, e.balanceAfter, e.reference])).to.deep.equal([
      ['CHARGE', 7, 12, b],
      ['CHARGE', 5, 5, a],
    ]);
  });

  it('keeps the balance equal to the ledger through uses, refunds and compensations', async () => {
    const saga = (gid: string) => sagaContext(gid, 'use-points');
    const undo = (gid: string) => sagaContext(gid, 'use-points', 'compensate');
    const movement = (amount: number, reference: string) => ({
      userId: 'mixed',
      amount,
      reference,
    });
    const c1 = await charge('mixed', 1000);
    expect((await wallets.use(saga('m1'), movement(300, 'p1'))).balance).to.equal(700);
    expect((await wallets.use(saga('m2'), movement(200, 'p2'))).balance).to.equal(500);
    expect(await domainRefusal(wallets.use(saga('m3'), movement(501, 'p3')))).to.equal(
      'INSUFFICIENT_POINTS',
    );
    // A compensation restores what its use debited, only once; one whose use never ran
    // restores nothing.
    await wallets.restore(undo('m1'));
    await wallets.restore(undo('m1'));
    await wallets.restore(undo('m9'));
    expect(await balance('mixed')).to.equal(800);
    expect(await wallets.refund(sagaContext('m4', 'refund-points'), movement(200, 'p2'))).to.equal(
      1000,
    );
    const entries = await history('mixed', 100);
    expect(entries.map((e) => [e.type, e.amount, e.balanceAfter, e.reference])).to.deep.equal([
      ['REFUND', 200, 1000, 'p2'],
      ['REFUND', 300, 800, 'p1'],
      ['USE', 200, 500, 'p2'],
      ['USE', 300, 700, 'p1'],
      ['CHARGE', 1000, 1000, c1],
    ]);
    expect(await balance('mixed')).to.equal(await ledgerSum('mixed'));
    expect(await events('mixed')).to.deep.equal([
      ['PointCharged', 1000, 1000, c1],
      ['PointUsed', 300, 700, 'p1'],
      ['PointUsed', 200, 500, 'p2'],
      ['PointRefunded', 300, 800, 'p1'],
      ['PointRefunded', 200, 1000, 'p2'],
    ]);
  });

  it('emits PointCharged for every committed charge and nothing for a refused one', async () => {
    expect(await events('newcomer')).to.deep.equal([['PointCharged', 700, 700, newcomerCharge]]);
    expect(await events('busy')).to.have.length(100);
    const [b, a] = (await history('h', 2)).map((e) => e.reference);
    expect(await events('h')).to.deep.equal([
      ['PointCharged', 5, 5, a],
      ['PointCharged', 7, 12, b],
    ]);
  });

  describe('under an Idempotency-Key', () => {
    it('applies 20 concurrent repeats of a keyed charge once, each answered with the first answer', async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          wallets.charge('keyed', { userId: '', amount: 300 }, 'k1'),
        ),
      );
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).to.equal(1);
      expect(answers[0]).to.deep.include({ userId: 'keyed', amount: 300, balance: 300 });
      expect(await balance('keyed')).to.equal(300);
      expect(await ledgerSum('keyed')).to.equal(300);
      expect(await events('keyed')).to.have.length(1);
      // A later repeat too; a new key is a new charge.
      expect(await wallets.charge('keyed', { userId: '', amount: 300 }, 'k1')).to.deep.equal(
        answers[0],
      );
      await wallets.charge('keyed', { userId: '', amount: 300 }, 'k2');
      expect(await balance('keyed')).to.equal(600);
    });

    it('refuses the key with another request, and changes nothing', async () => {
      await wallets.charge('reuser', { userId: '', amount: 100 }, 'k');
      expect(
        await domainRefusal(wallets.charge('reuser', { userId: '', amount: 101 }, 'k')),
      ).to.equal('IDEMPOTENCY_KEY_REUSED');
      expect(await balance('reuser')).to.equal(100);
      // Keys are the caller's own: another user's same key is another key.
      await wallets.charge('other', { userId: '', amount: 101 }, 'k');
      expect(await balance('other')).to.equal(101);
    });

    it('answers a repeat of a refused charge with the first refusal, even once it would pass', async () => {
      await wallets.charge('full', { userId: '', amount: 1_000_000 });
      await t.db.execute("UPDATE wallet SET balance = 99999999 WHERE user_id = 'full'");
      expect(
        await domainRefusal(wallets.charge('full', { userId: '', amount: 10 }, 'big')),
      ).to.equal('BALANCE_LIMIT_EXCEEDED');
      await t.db.execute("UPDATE wallet SET balance = 0 WHERE user_id = 'full'");
      expect(
        await domainRefusal(wallets.charge('full', { userId: '', amount: 10 }, 'big')),
      ).to.equal('BALANCE_LIMIT_EXCEEDED');
      expect(await balance('full')).to.equal(0);
    });

    it('forgets keys older than a day, and only those', async () => {
      await wallets.charge('old', { userId: '', amount: 5 }, 'ancient');
      await t.db.execute("UPDATE charge_key SET created_at = ? WHERE user_id = 'old'", [
        new Date(Date.now() - 25 * 3_600_000),
      ]);
      await wallets.charge('old', { userId: '', amount: 5 }, 'fresh');
      expect(await wallets.forgetOldKeys(new Date())).to.be.at.least(1);
      const left = await t.db.query<{ idem_key: string }>(
        "SELECT idem_key FROM charge_key WHERE user_id = 'old'",
      );
      expect(left.map((r) => r.idem_key)).to.deep.equal(['fresh']);
    });
  });
});
