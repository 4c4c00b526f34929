// Idempotent consumption: the effect and the record that the event was processed commit in one
// local transaction, so a redelivered event changes nothing.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import type { Database, Sql } from '../db';

/** Runs effect once per (consumer, eventId); false when the event was processed before. */
export function processOnce(
  db: Database,
  consumer: string,
  eventId: string,
  effect: (tx: Sql) => Promise<void>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const res = await tx.execute(
      'INSERT IGNORE INTO processed_event (consumer, event_id, processed_at) VALUES (?, ?, ?)',
      [consumer, eventId, new Date()],
    );
    if (res.affectedRows !== 1) return false;
    await effect(tx);
    return true;
  });
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
