// Schema of the payment database, one class per version; never edit a released migration.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARTICIPANT_MIGRATIONS } from '../../../lib/participant/migrations';

export class PaymentInit1763900000100 implements MigrationInterface {
  name = 'PaymentInit1763900000100';

  async up(q: QueryRunner): Promise<void> {
    // reservation_id is indexed but not unique: a voided payment may be followed by another.
    // refunded_at is set exactly when the payment is REFUNDED.
    await q.query(`CREATE TABLE payment (
      id CHAR(26) NOT NULL PRIMARY KEY,
      reservation_id CHAR(26) NOT NULL,
      user_id VARCHAR(64) NOT NULL,
      amount BIGINT NOT NULL,
      status ENUM('PAID','REFUNDED','VOIDED') NOT NULL,
      paid_at DATETIME(3) NOT NULL,
      refunded_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL,
      KEY payment_reservation (reservation_id),
      CONSTRAINT payment_refunded_at CHECK ((status = 'REFUNDED') = (refunded_at IS NOT NULL)),
      CONSTRAINT payment_amount CHECK (amount > 0)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE payment');
  }
}

export const PAYMENT_MIGRATIONS = [...PARTICIPANT_MIGRATIONS, PaymentInit1763900000100];
