// Schema of the reservation database, one class per version; never edit a released migration.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PARTICIPANT_MIGRATIONS } from '../../../lib/participant/migrations';

export class ReservationInit1763900000000 implements MigrationInterface {
  name = 'ReservationInit1763900000000';

  async up(q: QueryRunner): Promise<void> {
    // (status, expires_at) is the sweeper's range: overdue HELD rows, oldest first.
    // (user_id, created_at) serves a user's own reservations.
    // The CHECKs pin the semantic lock to its payment: PAYING and CONFIRMED always name the
    // payment, HELD and EXPIRED never do (CANCELLED may, when a refund cancelled it).
    await q.query(`CREATE TABLE reservation (
      id CHAR(26) NOT NULL PRIMARY KEY,
      user_id VARCHAR(64) NOT NULL,
      concert_id VARCHAR(64) NOT NULL,
      schedule_id VARCHAR(64) NOT NULL,
      date DATE NOT NULL,
      seat_number INT NOT NULL,
      seat_id VARCHAR(64) NOT NULL,
      price BIGINT NOT NULL,
      status ENUM('HELD','PAYING','CONFIRMED','EXPIRED','CANCELLED') NOT NULL,
      payment_id CHAR(26) NULL,
      expires_at DATETIME(3) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      KEY reservation_sweep (status, expires_at),
      KEY reservation_user (user_id, created_at),
      CONSTRAINT reservation_paid_has_payment
        CHECK (status NOT IN ('PAYING','CONFIRMED') OR payment_id IS NOT NULL),
      CONSTRAINT reservation_unpaid_has_none
        CHECK (status NOT IN ('HELD','EXPIRED') OR payment_id IS NULL),
      CONSTRAINT reservation_seat_number CHECK (seat_number > 0),
      CONSTRAINT reservation_price CHECK (price > 0)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reservation');
  }
}

export const RESERVATION_MIGRATIONS = [...PARTICIPANT_MIGRATIONS, ReservationInit1763900000000];
