// The delivery log: one row per event, counting attempts, with the last answer and when it
// was delivered. A success is written in the transaction that records the event as processed;
// a failure is written on its own, since that transaction rolls back to let the event retry.
import type { Database, Sql } from '../../../lib/db';
import type { Attempt } from '../domain/delivery';

export interface DeliveryRow {
  eventId: string;
  reservationId: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  firstAttemptAt: Date;
  lastAttemptAt: Date;
  deliveredAt: Date | null;
}

interface DbRow {
  event_id: string;
  reservation_id: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  first_attempt_at: Date;
  last_attempt_at: Date;
  delivered_at: Date | null;
}

/**
 * Counts one attempt. A failure never clears a delivery: a late failure of a concurrent
 * redelivery may be written after the event was delivered.
 */
export async function recordAttempt(
  sql: Sql,
  eventId: string,
  reservationId: string,
  attempt: Attempt,
  now: Date,
): Promise<void> {
  const status = attempt.status ?? null;
  const error = attempt.delivered ? null : attempt.error.slice(0, 500);
  const deliveredAt = attempt.delivered ? now : null;
  // Nothing reads it back: inside the processed-event transaction it travels with the COMMIT.
  await sql.writeAtEnd(
    `INSERT INTO delivery (event_id, reservation_id, attempts, last_status, last_error,
       first_attempt_at, last_attempt_at, delivered_at)
     VALUES (?, ?, 1, ?, ?, ?, ?, ?)
     ON DUPLICATE KEY UPDATE
       attempts = attempts + 1,
       last_status = IF(delivered_at IS NULL, ?, last_status),
       last_error = IF(delivered_at IS NULL, ?, last_error),
       last_attempt_at = ?,
       delivered_at = COALESCE(delivered_at, ?)`,
    [eventId, reservationId, status, error, now, now, deliveredAt, status, error, now, deliveredAt],
  );
}

export async function findDelivery(
  db: Database,
  eventId: string,
): Promise<DeliveryRow | undefined> {
  const [r] = await db.query<DbRow>(
    `SELECT event_id, reservation_id, attempts, last_status, last_error, first_attempt_at,
       last_attempt_at, delivered_at FROM delivery WHERE event_id = ?`,
    [eventId],
  );
  return r && toRow(r);
}

function toRow(r: DbRow): DeliveryRow {
  return {
    eventId: r.event_id,
    reservationId: r.reservation_id,
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    firstAttemptAt: r.first_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    deliveredAt: r.delivered_at,
  };
}
