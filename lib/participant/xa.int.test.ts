import { expect } from 'chai';
import { createPool } from '../db';
import { createLogger } from '../log';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
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
    t = await testDatabase('payment', []);
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
});
