// The envelope every event travels in, on the wire and in the outbox.
export interface EventEnvelope {
  eventId: string;
  type: string;
  version: number;
  occurredAt: string;
  aggregateId: string;
  payload: Record<string, unknown>;
}

/** AMQP header carrying the W3C trace context of the request whose commit produced the event. */
export const TRACEPARENT = 'traceparent';
/** How many times a consumer has failed this message already. */
export const ATTEMPTS = 'x-attempts';
export const LAST_ERROR = 'x-last-error';

export function encodeEnvelope(e: EventEnvelope): Buffer {
  return Buffer.from(JSON.stringify(e));
}

/** Parses a message body; throws on anything that is not an envelope (it will be parked). */
export function decodeEnvelope(body: Buffer): EventEnvelope {
  const raw = JSON.parse(body.toString('utf8')) as Partial<EventEnvelope>;
  if (
    typeof raw.eventId !== 'string' ||
    typeof raw.type !== 'string' ||
    typeof raw.version !== 'number' ||
    typeof raw.occurredAt !== 'string' ||
    typeof raw.aggregateId !== 'string' ||
    typeof raw.payload !== 'object' ||
    raw.payload === null
  ) {
    throw new Error('not an event envelope');
  }
  return raw as EventEnvelope;
}
