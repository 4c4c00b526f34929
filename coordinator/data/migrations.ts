// Schema of the coordinator's global transaction log.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CoordinatorInit1763700000200 implements MigrationInterface {
  name = 'CoordinatorInit1763700000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE global_tx (
      gid CHAR(26) NOT NULL PRIMARY KEY,
      flow VARCHAR(32) NOT NULL,
      mode ENUM('xa','saga') NOT NULL,
      state ENUM('RUNNING','COMMITTING','ABORTING','COMPENSATING','COMMITTED','ABORTED') NOT NULL,
      payload JSON NOT NULL,
      outcome JSON NULL,
      idempotency_key VARCHAR(200) NULL,
      request_hash CHAR(64) NULL,
      owner VARCHAR(64) NOT NULL,
      next_attempt_at DATETIME(3) NOT NULL,
      deadline_at DATETIME(3) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(512) NULL,
      created_at DATETIME(3) NOT NULL,
      updated_at DATETIME(3) NOT NULL,
      UNIQUE KEY global_tx_idempotency (idempotency_key),
      KEY global_tx_due (state, next_attempt_at),
      KEY global_tx_owner (owner, state),
      KEY global_tx_created (created_at)
    ) ENGINE=InnoDB`);
    await q.query(`CREATE TABLE tx_branch (
      gid CHAR(26) NOT NULL,
      branch_id VARCHAR(64) NOT NULL,
      participant VARCHAR(32) NOT NULL,
      action VARCHAR(64) NOT NULL,
      state VARCHAR(16) NOT NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(512) NULL,
      updated_at DATETIME(3) NOT NULL,
      PRIMARY KEY (gid, branch_id)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tx_branch');
    await q.query('DROP TABLE global_tx');
  }
}

/** The trace of the request that started a transaction, so recovery can link to it. */
export class CoordinatorTraceContext1763700000400 implements MigrationInterface {
  name = 'CoordinatorTraceContext1763700000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE global_tx ADD COLUMN trace_context VARCHAR(128) NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE global_tx DROP COLUMN trace_context');
  }
}

/**
 * A transaction whose recovery keeps failing is parked (STUCK) for an operator: parked_at says
 * since when, and its next attempt is pushed out of reach until the operator retries it.
 */
export class CoordinatorParking1765100000100 implements MigrationInterface {
  name = 'CoordinatorParking1765100000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE global_tx ADD COLUMN parked_at DATETIME(3) NULL,
      ADD KEY global_tx_parked (parked_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE global_tx DROP KEY global_tx_parked, DROP COLUMN parked_at');
  }
}

/**
 * A fencing token: every claim by recovery increments `claim`, and a run moves its transaction
 * only while the claim it started under is still the current one. A run that lost its lease —
 * its coordinator paused past it, and another took over — can no longer change anything.
 */
export class CoordinatorFencing1765200000100 implements MigrationInterface {
  name = 'CoordinatorFencing1765200000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE global_tx ADD COLUMN claim INT UNSIGNED NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE global_tx DROP COLUMN claim');
  }
}

/**
 * What the operator console asks of the log. A transaction's history after it began, as a JSON
 * array appended by the statement that changes its state (no row or round trip of its own); the
 * ids operators search by, generated from the flow's input and indexed; when each branch's first
 * call started and its last answer came; and the audit trail of operator actions.
 */
export class CoordinatorConsole1766000000100 implements MigrationInterface {
  name = 'CoordinatorConsole1766000000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE global_tx
      ADD COLUMN history JSON NULL,
      ADD COLUMN user_id VARCHAR(64) AS (JSON_VALUE(payload, '$.userId')) VIRTUAL,
      ADD COLUMN reservation_id VARCHAR(64) AS (JSON_VALUE(payload, '$.reservationId')) VIRTUAL,
      ADD COLUMN payment_id VARCHAR(64) AS (JSON_VALUE(payload, '$.paymentId')) VIRTUAL,
      ADD KEY global_tx_user (user_id, created_at),
      ADD KEY global_tx_reservation (reservation_id),
      ADD KEY global_tx_payment (payment_id)`);
    await q.query(`ALTER TABLE tx_branch
      ADD COLUMN started_at DATETIME(3) NULL,
      ADD COLUMN ended_at DATETIME(3) NULL`);
    await q.query(`CREATE TABLE operator_action (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      at DATETIME(3) NOT NULL,
      actor VARCHAR(64) NOT NULL,
      action VARCHAR(16) NOT NULL,
      target VARCHAR(200) NOT NULL,
      expected_state VARCHAR(16) NULL,
      result VARCHAR(16) NOT NULL,
      detail VARCHAR(512) NOT NULL,
      KEY operator_action_target (target, id)
    ) ENGINE=InnoDB`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE operator_action');
    await q.query('ALTER TABLE tx_branch DROP COLUMN started_at, DROP COLUMN ended_at');
    await q.query(`ALTER TABLE global_tx DROP KEY global_tx_user, DROP KEY global_tx_reservation,
      DROP KEY global_tx_payment, DROP COLUMN user_id, DROP COLUMN reservation_id,
      DROP COLUMN payment_id, DROP COLUMN history`);
  }
}

export const COORDINATOR_MIGRATIONS = [
  CoordinatorInit1763700000200,
  CoordinatorTraceContext1763700000400,
  CoordinatorParking1765100000100,
  CoordinatorFencing1765200000100,
  CoordinatorConsole1766000000100,
];
