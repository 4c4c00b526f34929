// Tables every participant database has: the saga barrier and the event outbox.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ParticipantTables1763700000100 implements MigrationInterface {
  name = 'ParticipantTables1763700000100';

  async up(q: QueryRunner): Promise<void> {
    // One row per (gid, branch, op). `origin` says who wrote it: an action row written by a
    // compensation marks a null compensation and blocks the late action (no hanging).
    await q.query(`CREATE TABLE tx_barrier (
      gid VARCHAR(64) NOT NULL,
      branch_id VARCHAR(64) NOT NULL,
      op ENUM('action','compensate') NOT NULL,
      origin ENUM('action','compensate') NOT NULL,
      result JSON NULL,
      created_at DATETIME(3) NOT NULL,
      PRIMARY KEY (gid, branch_id, op)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE outbox (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      event_id CHAR(26) NOT NULL,
      type VARCHAR(64) NOT NULL,
      version INT NOT NULL,
      aggregate_id VARCHAR(64) NOT NULL,
      payload JSON NOT NULL,
      trace_context VARCHAR(512) NULL,
      occurred_at DATETIME(3) NOT NULL,
      sent_at DATETIME(3) NULL,
      UNIQUE KEY outbox_event (event_id),
      KEY outbox_unsent (sent_at, id),
      KEY outbox_aggregate (aggregate_id, type)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox');
    await q.query('DROP TABLE tx_barrier');
  }
}

export class ParticipantHousekeeping1765100000000 implements MigrationInterface {
  name = 'ParticipantHousekeeping1765100000000';

  async up(q: QueryRunner): Promise<void> {
    // A saga branch's events wait (hold_gid) until their transaction has ended: nothing leaves
    // while it can still be undone. Barrier rows are collected by age once their transaction ended.
    await q.query(`ALTER TABLE outbox ADD COLUMN hold_gid VARCHAR(64) NULL,
      ADD KEY outbox_held (hold_gid)`);
    await q.query('ALTER TABLE tx_barrier ADD KEY tx_barrier_age (created_at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE tx_barrier DROP KEY tx_barrier_age');
    await q.query('ALTER TABLE outbox DROP KEY outbox_held, DROP COLUMN hold_gid');
  }
}

/** Every participant database's tables: the saga barrier and the event outbox, in order. */
export const PARTICIPANT_MIGRATIONS = [
  ParticipantTables1763700000100,
  ParticipantHousekeeping1765100000000,
];
