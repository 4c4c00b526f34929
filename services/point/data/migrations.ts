// Schema of the point database, one class per version; never edit a released migration.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARTICIPANT_MIGRATIONS } from '../../../lib/participant/migrations';

export class PointInit1763700000000 implements MigrationInterface {
  name = 'PointInit1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE wallet (
      user_id VARCHAR(64) NOT NULL PRIMARY KEY,
      balance BIGINT NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      CONSTRAINT wallet_balance_not_negative CHECK (balance >= 0)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE point_ledger (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      user_id VARCHAR(64) NOT NULL,
      type ENUM('CHARGE','USE','REFUND') NOT NULL,
      amount BIGINT NOT NULL,
      balance_after BIGINT NOT NULL,
      reference VARCHAR(64) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY point_ledger_user (user_id, id)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE point_ledger');
    await q.query('DROP TABLE wallet');
  }
}

// The saga barrier and the event outbox every participant database has.
export const POINT_MIGRATIONS = [PointInit1763700000000, ...PARTICIPANT_MIGRATIONS];
