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

/** The first answer of every charge made under an Idempotency-Key, per user. */
export class PointChargeKeys1765100000200 implements MigrationInterface {
  name = 'PointChargeKeys1765100000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE charge_key (
      user_id VARCHAR(64) NOT NULL,
      idem_key VARCHAR(128) NOT NULL,
      request_hash CHAR(64) NOT NULL,
      answer JSON NOT NULL,
      created_at DATETIME(3) NOT NULL,
      PRIMARY KEY (user_id, idem_key),
      KEY charge_key_age (created_at)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE charge_key');
  }
}

// The saga barrier and the event outbox every participant database has; charge keys.
export const POINT_MIGRATIONS = [
  PointInit1763700000000,
  ...PARTICIPANT_MIGRATIONS,
  PointChargeKeys1765100000200,
];
