import { expect } from 'chai';
import { createPool } from '../db';
import { createLogger } from '../log';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { PARTICIPANT_MIGRATIONS } from './migrations';
import { XaBranches } from './xa';
import type { Pool } from 'mysql2/promise';

describe('XA branches (real MariaDB)', () => {
  let t: TestDatabase;
  let pool: Pool;
  const log = createLogger('silent');
  const branches = (holdTimeoutMs = 30_000) =>
    new XaBranches(
      pool,
      { bqual: t.config.database, activeTimeoutMs: holdTimeoutMs, holdTimeoutMs },
      log,
    );

  before(async () => {
    t = await testDatabase('payment', PARTICIPANT_MIGRATIONS);
    await t.db.execute('CREATE TABLE acct (id INT PRIMARY KEY, v INT NOT NULL)');
    await t.db.execute('INSERT INTO acct VALUES (1, 0), (2, 0), (3, 0), (4, 0)');
    pool = createPool({ ...t.config, poolSize: 10 });
  });
  after(async () => {
    await pool.end();
    await t.drop();
  });

  const value = async (id: number) =>
    (await t.db.query<{ v: number }>('SELECT v FROM acct WHERE id = ?', [id]))[0].v;
  const add =
    (id: number, n: number) =>
    async (sql: { execute: (q: string, p: number[]) => Promise<unknown> }) => {
      await sql.execute('UPDATE acct SET v = v + ? WHERE id = ?', [n, id]);
      return n;
    };

  it('runs several calls in one branch, prepares, and commits on the same connection', async () => {
    const xa = branches();
    expect(await xa.run('gid-commit', false, add(1, 5))).to.equal(5);
    await xa.run('gid-commit', true, add(1, 2));
    expect(await value(1)).to.equal(0); // prepared, not visible
    expect(await xa.inDoubt()).to.deep.equal([]); // held by its session, not in doubt
    await xa.commit('gid-commit');
    expect(await value(1)).to.equal(7);
    await xa.commit('gid-commit'); // phase 2 repeated: already done
    await xa.close();
  });

  it('rolls a prepared branch back', async () => {
    const xa = branches();
    await xa.run('gid-rb', true, add(2, 9));
    await xa.rollback('gid-rb');
    await xa.rollback('gid-rb');
    expect(await value(2)).to.equal(0);
    await xa.close();
  });

  it('rolls back the whole branch when a call fails before prepare', async () => {
    const xa = branches();
    await xa.run('gid-fail', false, add(3, 4));
    let failed = false;
    try {
      await xa.run('gid-fail', true, async () => {
        throw new Error('refused');
      });
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
    expect(xa.openBranches).to.equal(0);
    expect(await value(3)).to.equal(0);
    await xa.close();
  });

  it('detaches a prepared branch after the hold timeout, so another process can commit it', async () => {
    const first = branches(200);
    await first.run('gid-detach', true, add(4, 3));
    await new Promise((r) => setTimeout(r, 400));
    const second = branches();
    expect((await second.inDoubt()).map((b) => b.gid)).to.include('gid-detach');
    await second.commit('gid-detach');
    expect(await value(4)).to.equal(3);
    expect((await second.inDoubt()).map((b) => b.gid)).to.not.include('gid-detach');
    await first.close();
    await second.close();
  });

  it('does not call a branch finished while another live connection still holds it', async () => {
    const holder = branches();
    const other = branches();
    await holder.run('gid-held', true, add(1, 1));
    let error: unknown;
    try {
      await other.commit('gid-held');
    } catch (err) {
      error = err;
    }
    expect((error as { reason?: string }).reason).to.equal('UNAVAILABLE');
    await holder.rollback('gid-held');
    await holder.close();
    await other.close();
  });

  describe('aborts that race a running call (no branch work outside its branch)', () => {
    /** A call whose body changes acct 1, then waits at the gate, then holds a write for the end. */
    function gatedCall(xa: XaBranches, gid: string, prepare: boolean) {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let reachedGate!: () => void;
      const atGate = new Promise<void>((r) => (reachedGate = r));
      const call = xa.run(gid, prepare, async (sql) => {
        await sql.execute('UPDATE acct SET v = v + 100 WHERE id = 1');
        reachedGate();
        await gate;
        await sql.writeAtEnd('UPDATE acct SET v = v + 1000 WHERE id = 2');
        return 'ran';
      });
      return {
        call: call.then(
          () => 'ran',
          (err: { reason?: string }) => err.reason,
        ),
        open,
        atGate,
      };
    }

    for (const prepare of [false, true]) {
      it(`waits for a call still running (prepare: ${prepare}), refuses it, and none of its writes land`, async () => {
        const xa = branches();
        const before = [await value(1), await value(2)];
        const gid = `gid-race-${prepare}`;
        const { call, open, atGate } = gatedCall(xa, gid, prepare);
        await atGate;
        let rolledBack = false;
        const rollback = xa.rollback(gid).then(() => (rolledBack = true));
        await new Promise((r) => setTimeout(r, 200));
        // The rollback waits for the call: they never share the connection.
        expect(rolledBack).to.equal(false);
        open();
        await rollback;
        expect(await call).to.equal('BRANCH_REFUSED');
        expect([await value(1), await value(2)]).to.deep.equal(before);
        expect((await xa.inDoubt()).map((b) => b.gid)).to.not.include(gid);
        expect(xa.openBranches).to.equal(0);
        // A late call of the same branch is refused too.
        const late = await xa.run(gid, true, add(1, 5)).catch((e: { reason?: string }) => e.reason);
        expect(late).to.equal('BRANCH_REFUSED');
        expect(await value(1)).to.equal(before[0]);
        await xa.close();
      });
    }

    it('refuses a call that arrives after its branch was rolled back without ever starting (no hanging)', async () => {
      const xa = branches();
      const before = await value(3);
      // The coordinator aborted: the rollback finds no branch, and leaves its mark.
      await xa.rollback('gid-never-started');
      const late = await xa
        .run('gid-never-started', true, add(3, 5))
        .catch((e: { reason?: string }) => e.reason);
      expect(late).to.equal('BRANCH_REFUSED');
      expect(await value(3)).to.equal(before);
      expect((await xa.inDoubt()).map((b) => b.gid)).to.not.include('gid-never-started');
      // Another process (a second replica) refuses it as well: the mark is in the database.
      const other = branches();
      const elsewhere = await other
        .run('gid-never-started', true, add(3, 5))
        .catch((e: { reason?: string }) => e.reason);
      expect(elsewhere).to.equal('BRANCH_REFUSED');
      expect(await value(3)).to.equal(before);
      await xa.close();
      await other.close();
    });

    it('refuses a late duplicate of a branch that committed', async () => {
      const xa = branches();
      await xa.run('gid-dup', true, add(4, 1));
      await xa.commit('gid-dup');
      const after = await value(4);
      const dup = await xa
        .run('gid-dup', true, add(4, 1))
        .catch((e: { reason?: string }) => e.reason);
      expect(dup).to.equal('BRANCH_REFUSED');
      expect(await value(4)).to.equal(after);
      await xa.close();
    });

    it('rolls back a branch whose start was still under way when the abort came', async () => {
      const xa = branches();
      const before = await value(2);
      const call = xa
        .run('gid-starting', true, add(2, 7))
        .catch((e: { reason?: string }) => e.reason);
      await xa.rollback('gid-starting');
      expect(await call).to.equal('BRANCH_REFUSED');
      expect(await value(2)).to.equal(before);
      expect((await xa.inDoubt()).map((b) => b.gid)).to.not.include('gid-starting');
      await xa.close();
    });
  });
});
