// Schema of the dataplatform database, one class per version; never edit a released migration.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ProcessedEvents1763700000300 } from '../../../lib/events/processed';

export class DataplatformInit1763700000000 implements MigrationInterface {
  name = 'DataplatformInit1763700000000';

  // One row per event ever attempted: what an operator reads to see what is stuck and why.
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE delivery (
      event_id CHAR(26) NOT NULL PRIMARY KEY,
      reservation_id VARCHAR(64) NOT NULL,
      attempts INT NOT NULL,
      last_status SMALLINT NULL,
      last_error VARCHAR(500) NULL,
      first_attempt_at DATETIME(3) NOT NULL,
      last_attempt_at DATETIME(3) NOT NULL,
      delivered_at DATETIME(3) NULL,
      KEY delivery_reservation (reservation_id),
      KEY delivery_pending (delivered_at, last_attempt_at)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE delivery');
  }
}

// processed_event makes the consumer idempotent by event id (lib/events/processed.ts).
export const DATAPLATFORM_MIGRATIONS = [
  DataplatformInit1763700000000,
  ProcessedEvents1763700000300,
];
