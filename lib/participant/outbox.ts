// Writing an event: a row in the same transaction as the change that causes it, so it exists
// if and only if that change committed. The relay publishes it later — an event of a saga
// branch only once its global transaction has ended (`holdFor`), so nothing leaves while the
// transaction can still be undone.
import type { Sql } from '../db';
import { newId } from '../ids';

export interface NewEvent {
  type: string;
  version: number;
  aggregateId: string;
  payload: Record<string, unknown>;
}

export interface EventOrigin {
  /** W3C traceparent of the request whose commit produces the event. */
  traceContext?: string;
  /** The global transaction whose end releases the event (saga branches). */
  holdFor?: string;
}

export async function insertEvent(
  sql: Sql,
  event: NewEvent,
  now: Date,
  origin: EventOrigin = {},
): Promise<string> {
  const eventId = newId(now.getTime());
  await sql.writeAtEnd(
    `INSERT INTO outbox (event_id, type, version, aggregate_id, payload, trace_context, occurred_at, hold_gid)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      eventId,
      event.type,
      event.version,
      event.aggregateId,
      JSON.stringify(event.payload),
      origin.traceContext ?? null,
      now,
      origin.holdFor ?? null,
    ],
  );
  return eventId;
}

/** Deletes the unsent event of this type and aggregate, or announces its retraction if sent. */
export async function retractEvent(
  sql: Sql,
  type: string,
  aggregateId: string,
  now: Date,
  origin: EventOrigin = {},
): Promise<void> {
  const deleted = await sql.execute(
    'DELETE FROM outbox WHERE aggregate_id = ? AND type = ? AND sent_at IS NULL',
    [aggregateId, type],
  );
  if (deleted.affectedRows > 0) return;
  const [sent] = await sql.query<{ event_id: string }>(
    'SELECT event_id FROM outbox WHERE aggregate_id = ? AND type = ? ORDER BY id DESC LIMIT 1',
    [aggregateId, type],
  );
  if (!sent) return;
  await insertEvent(
    sql,
    {
      type: `${type}Retracted`,
      version: 1,
      aggregateId,
      payload: { retractedEventId: sent.event_id },
    },
    now,
    origin,
  );
}
