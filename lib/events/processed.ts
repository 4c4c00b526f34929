// Idempotent consumption: the effect and the record that the event was processed commit in one
// local transaction, so a redelivered event changes nothing.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { isDuplicateKey, type Database, type Sql } from '../db';

const RECORD = 'INTO processed_event (consumer, event_id, processed_at) VALUES (?, ?, ?)';

/**
 * Runs effect once per (consumer, eventId); false when the event was processed before. The
 * record is written first, so a concurrent redelivery waits on it before doing anything: the
 * way for effects outside this database (an HTTP call), which a rollback cannot undo.
 */
export function processOnce(
  db: Database,
  consumer: string,
  eventId: string,
  effect: (tx: Sql) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const res = await tx.execute(`INSERT IGNORE ${RECORD}`, [consumer, eventId, new Date()]);
    if (res.affectedRows !== 1) return false;
    await effect(tx);
    return true;
  });
}

/**
 * processOnce for effects wholly inside this database, one round trip shorter: the record
 * travels with the COMMIT, and a redelivery's record collides there (a duplicate key, after
 * waiting for the first to commit), which rolls its effect back.
 */
export async function applyOnce(
  db: Database,
  consumer: string,
  eventId: string,
  effect: (tx: Sql) => Promise<void>,
): Promise<boolean> {
  try {
    await db.transaction(async (tx) => {
      await effect(tx);
      await tx.writeAtEnd(`INSERT ${RECORD}`, [consumer, eventId, new Date()]);
    });
    return true;
  } catch (err) {
    // A duplicate key of the effect's own is not ours to swallow: only a recorded event is.
    if (isDuplicateKey(err) && (await isProcessed(db, consumer, eventId))) return false;
    throw err;
  }
}

async function isProcessed(db: Database, consumer: string, eventId: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM processed_event WHERE consumer = ? AND event_id = ?', [
    consumer,
    eventId,
  ]);
  return rows.length > 0;
}

export class ProcessedEvents1763700000300 implements MigrationInterface {
  name = 'ProcessedEvents1763700000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE processed_event (
      consumer VARCHAR(64) NOT NULL,
      event_id CHAR(26) NOT NULL,
      processed_at DATETIME(3) NOT NULL,
      PRIMARY KEY (consumer, event_id)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE processed_event');
  }
}
