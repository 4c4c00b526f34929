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
