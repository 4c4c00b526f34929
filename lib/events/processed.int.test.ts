import { expect } from 'chai';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { isDuplicateKey, type Sql } from '../db';
import { ProcessedEvents1763700000300, applyOnce, processOnce } from './processed';

describe('processed events (real MariaDB)', () => {
  let t: TestDatabase;

  before(async () => {
    t = await testDatabase('concert', [ProcessedEvents1763700000300]);
    await t.db.execute(
      'CREATE TABLE effect (id INT AUTO_INCREMENT PRIMARY KEY, event_id CHAR(26))',
    );
  });
  after(() => t.drop());

  const effects = async (eventId: string) =>
    (await t.db.query('SELECT id FROM effect WHERE event_id = ?', [eventId])).length;
  const effect = (eventId: string) => async (tx: Sql) => {
    await tx.execute('INSERT INTO effect (event_id) VALUES (?)', [eventId]);
  };

  for (const [name, once] of [
    ['processOnce', processOnce],
    ['applyOnce', applyOnce],
  ] as const) {
    describe(name, () => {
      it('applies an event once; a redelivery changes nothing and answers false', async () => {
        const id = `${name}-once`.padEnd(26, '0');
        expect(await once(t.db, 'test', id, effect(id))).to.equal(true);
        expect(await once(t.db, 'test', id, effect(id))).to.equal(false);
        expect(await effects(id)).to.equal(1);
        // Another consumer of the same event applies it for itself.
        expect(await once(t.db, 'other', id, effect(id))).to.equal(true);
        expect(await effects(id)).to.equal(2);
      });

      it('applies an event delivered ten times at once exactly once', async () => {
        const id = `${name}-concurrent`.padEnd(26, '0');
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => once(t.db, 'test', id, effect(id))),
        );
        expect(answers.filter(Boolean)).to.have.length(1);
        expect(await effects(id)).to.equal(1);
      });

      it('records nothing when the effect fails, so the event is applied when retried', async () => {
        const id = `${name}-retry`.padEnd(26, '0');
        const failing = async (tx: Sql) => {
          await effect(id)(tx);
          throw new Error('refused');
        };
        const err = await once(t.db, 'test', id, failing).catch((e: unknown) => e);
        expect((err as Error).message).to.equal('refused');
        expect(await effects(id)).to.equal(0);
        expect(await once(t.db, 'test', id, effect(id))).to.equal(true);
        expect(await effects(id)).to.equal(1);
      });
    });
  }

  it('applyOnce passes on a duplicate key of the effect’s own instead of calling it processed', async () => {
    const id = 'applyonce-own-duplicate'.padEnd(26, '0');
    await t.db.execute('INSERT INTO effect (id, event_id) VALUES (1000, ?)', [id]);
    const err = await applyOnce(t.db, 'test', id, async (tx) => {
      await tx.execute('INSERT INTO effect (id, event_id) VALUES (1000, ?)', [id]);
    }).catch((e: unknown) => e);
    expect(isDuplicateKey(err)).to.equal(true);
    expect(
      await t.db.query('SELECT 1 FROM processed_event WHERE event_id = ?', [id]),
    ).to.have.length(0);
  });
});
