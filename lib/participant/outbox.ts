// Writing an event: a row in the same transaction as the change that causes it, so it exists
// if and only if that change committed. The relay publishes it later.
import type { Sql } from '../db';
import { newId } from '../ids';

export interface NewEvent {
  type: string;
  version: number;
  aggregateId: string;
  payload: Record<string, unknown>;
}

export async function insertEvent(
  sql: Sql,
  event: NewEvent,
  now: Date,
  traceContext?: string,
): Promise<string> {
  const eventId = newId(now.getTime());
  await sql.execute(
    `INSERT INTO outbox (event_id, type, version, aggregate_id, payload, trace_context, occurred_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [
      eventId,
      event.type,
      event.version,
      event.aggregateId,
      JSON.stringify(event.payload),
      traceContext ?? null,
      now,
    ],
  );
  return eventId;
}
