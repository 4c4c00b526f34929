import { expect } from 'chai';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { runId, testDatabase, type TestDatabase } from '../test/support/infra';
import { loadConfig } from './config';
import { dropDatabase, migrate } from './db';

describe('Database transactions (real MariaDB)', () => {
  let t: TestDatabase;

  before(async () => {
    t = await testDatabase('point', []);
    await t.db.execute('CREATE TABLE item (id INT PRIMARY KEY, note VARCHAR(16))');
  });
  after(() => t.drop());

  const items = async () =>
    (await t.db.query<{ id: number }>('SELECT id FROM item ORDER BY id')).map((r) => r.id);

  it('commits the statements and the held writes together', async () => {
    const out = await t.db.transaction(async (tx) => {
      const res = await tx.execute('INSERT INTO item VALUES (?, ?)', [1, 'now']);
      await tx.writeAtEnd('INSERT INTO item VALUES (?, ?)', [2, 'held']);
      await tx.writeAtEnd('INSERT INTO item VALUES (?, ?)', [3, 'held']);
      return res.affectedRows;
    });
    expect(out).to.equal(1);
    expect(await items()).to.deep.equal([1, 2, 3]);
  });

  it('rolls everything back when a held write fails at the end, and says why', async () => {
    const err = await t.db
      .transaction(async (tx) => {
        await tx.execute('INSERT INTO item VALUES (?, ?)', [4, 'now']);
        await tx.writeAtEnd('INSERT INTO item VALUES (?, ?)', [5, 'held']);
        await tx.writeAtEnd('INSERT INTO item VALUES (?, ?)', [1, 'duplicate']);
      })
      .catch((e: unknown) => e);
    expect((err as { errno?: number }).errno).to.equal(1062);
    expect(await items()).to.deep.equal([1, 2, 3]);
  });

  it('rolls back what ran when the body throws, and sends no held write', async () => {
    const err = await t.db
      .transaction(async (tx) => {
        await tx.execute('INSERT INTO item VALUES (?, ?)', [6, 'now']);
        await tx.writeAtEnd('INSERT INTO item VALUES (?, ?)', [7, 'held']);
        throw new Error('refused');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).to.equal('refused');
    expect(await items()).to.deep.equal([1, 2, 3]);
  });

  it('reads its own writes inside the transaction and isolates them from others until commit', async () => {
    await t.db.transaction(async (tx) => {
      await tx.execute('INSERT INTO item VALUES (?, ?)', [8, 'now']);
      expect(await tx.query('SELECT id FROM item WHERE id = 8')).to.have.length(1);
      expect(await t.db.query('SELECT id FROM item WHERE id = 8')).to.have.length(0);
    });
    expect(await items()).to.deep.equal([1, 2, 3, 8]);
  });

  it('answers a change and the rows after it, in a transaction and on the pool', async () => {
    const rename = (note: string, id: number, from: string) => ({
      sql: 'UPDATE item SET note = ? WHERE id = ? AND note = ?',
      params: [note, id, from],
    });
    const read = (id: number) => ({ sql: 'SELECT id, note FROM item WHERE id = ?', params: [id] });
    const inTx = await t.db.transaction((tx) =>
      tx.changeAndRead(rename('paid', 1, 'now'), read(1)),
    );
    expect(inTx).to.deep.equal({ changed: 1, rows: [{ id: 1, note: 'paid' }] });
    const refused = await t.db.changeAndRead(rename('again', 1, 'now'), read(1));
    expect(refused).to.deep.equal({ changed: 0, rows: [{ id: 1, note: 'paid' }] });
    expect(await t.db.changeAndRead(rename('x', 99, 'now'), read(99))).to.deep.equal({
      changed: 0,
      rows: [],
    });
  });

  it('runs a held write on the pool at once', async () => {
    await t.db.writeAtEnd('INSERT INTO item VALUES (?, ?)', [9, 'pool']);
    expect(await items()).to.deep.equal([1, 2, 3, 8, 9]);
  });
});

describe('migrations (real MariaDB)', () => {
  it('run once when several processes migrate one fresh database at the same time', async () => {
    class CreateThing implements MigrationInterface {
      name = 'CreateThing1700000000001';
      async up(q: QueryRunner): Promise<void> {
        await q.query('CREATE TABLE thing (id INT PRIMARY KEY)');
      }
      async down(q: QueryRunner): Promise<void> {
        await q.query('DROP TABLE thing');
      }
    }
    class AddColumn implements MigrationInterface {
      name = 'AddColumn1700000000002';
      async up(q: QueryRunner): Promise<void> {
        await q.query('ALTER TABLE thing ADD COLUMN note VARCHAR(8) NULL');
      }
      async down(q: QueryRunner): Promise<void> {
        await q.query('ALTER TABLE thing DROP COLUMN note');
      }
    }
    const cfg = loadConfig({ ...process.env, DB_NAME_PREFIX: `${runId()}_` }).db.point;
    try {
      // Without the lock, the second CREATE TABLE or ADD COLUMN failed one of them (chaos saw
      // two coordinators exit so).
      const applied = await Promise.all(
        Array.from({ length: 4 }, () => migrate(cfg, [CreateThing, AddColumn])),
      );
      expect(applied.flat().sort()).to.deep.equal([
        'AddColumn1700000000002',
        'CreateThing1700000000001',
      ]);
    } finally {
      await dropDatabase(cfg);
    }
  });
});
