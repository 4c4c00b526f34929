// Schema of the concert database, one class per version; never edit a released migration.
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ProcessedEvents1763700000300 } from '../../../lib/events/processed';
import { PARTICIPANT_MIGRATIONS } from '../../../lib/participant/migrations';

export class ConcertInit1763800000000 implements MigrationInterface {
  name = 'ConcertInit1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE concert (
      id VARCHAR(26) NOT NULL PRIMARY KEY,
      title VARCHAR(200) NOT NULL,
      created_at DATETIME(3) NOT NULL,
      KEY concert_created (created_at, id)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE schedule (
      id VARCHAR(26) NOT NULL PRIMARY KEY,
      concert_id VARCHAR(26) NOT NULL,
      date DATE NOT NULL,
      booking_opens_at DATETIME(3) NOT NULL,
      total_seats SMALLINT UNSIGNED NOT NULL,
      UNIQUE KEY schedule_concert_date (concert_id, date),
      CONSTRAINT schedule_concert FOREIGN KEY (concert_id) REFERENCES concert (id)
    ) ENGINE=InnoDB`);
    // Clustered on (schedule_id, seat_number): a seat map is one contiguous range of the
    // primary key, and a seat id (which encodes both) is a point lookup.
    // (schedule_id, status) lets availability counts read only the seats they count.
    // held_by is the reservation holding (HELD) or owning (SOLD) the seat; NULL iff AVAILABLE.
    await q.query(`CREATE TABLE seat (
      schedule_id VARCHAR(26) NOT NULL,
      seat_number SMALLINT UNSIGNED NOT NULL,
      price INT UNSIGNED NOT NULL,
      status ENUM('AVAILABLE','HELD','SOLD') NOT NULL DEFAULT 'AVAILABLE',
      held_by VARCHAR(64) NULL,
      updated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (schedule_id, seat_number),
      KEY seat_schedule_status (schedule_id, status),
      CONSTRAINT seat_schedule FOREIGN KEY (schedule_id) REFERENCES schedule (id),
      CONSTRAINT seat_holder CHECK ((status = 'AVAILABLE') = (held_by IS NULL))
    ) ENGINE=InnoDB`);
    // A read model of sold-out schedules (filled from sales); denormalised so the ranking
    // is one index range, with no joins.
    await q.query(`CREATE TABLE sold_out_ranking (
      schedule_id VARCHAR(26) NOT NULL PRIMARY KEY,
      concert_id VARCHAR(26) NOT NULL,
      title VARCHAR(200) NOT NULL,
      date DATE NOT NULL,
      sold_out_seconds BIGINT UNSIGNED NOT NULL,
      sold_out_at DATETIME(3) NOT NULL,
      KEY sold_out_ranking_fastest (sold_out_seconds, sold_out_at)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE sold_out_ranking');
    await q.query('DROP TABLE seat');
    await q.query('DROP TABLE schedule');
    await q.query('DROP TABLE concert');
  }
}

// The saga barrier and the event outbox every participant database has; the processed-events
// record of the ranking consumer.
export const CONCERT_MIGRATIONS = [
  ConcertInit1763800000000,
  ...PARTICIPANT_MIGRATIONS,
  ProcessedEvents1763700000300,
];
