// Events straight onto the exchange, as the outbox relay publishes them, for consumer tests
// that have no producing service running.
import type { Broker } from '../../lib/events/broker';
import { encodeEnvelope, type EventEnvelope } from '../../lib/events/envelope';
import { newId } from '../../lib/ids';

/** An envelope of version 1 occurring now, unless told otherwise. */
export function envelope(
  type: string,
  payload: Record<string, unknown>,
  fields: Partial<EventEnvelope> = {},
): EventEnvelope {
  const occurredAt = fields.occurredAt ?? new Date().toISOString();
  return {
    eventId: newId(Date.parse(occurredAt)),
    type,
    version: 1,
    occurredAt,
    aggregateId: typeof payload.reservationId === 'string' ? payload.reservationId : 'test',
    payload,
    ...fields,
  };
}

/** Publishes with the relay's properties (routing key = type), and waits for the confirms. */
export async function publishEvents(broker: Broker, events: EventEnvelope[]): Promise<void> {
  const ch = await broker.confirmChannel();
  try {
    for (const e of events) {
      ch.publish(broker.opts.exchange, e.type, encodeEnvelope(e), {
        persistent: true,
        contentType: 'application/json',
        messageId: e.eventId,
        type: e.type,
        timestamp: Math.floor(Date.parse(e.occurredAt) / 1000),
      });
    }
    await ch.waitForConfirms();
  } finally {
    await ch.close();
  }
}

/**
 * Waits until a consumer is attached to the queue: only then is it bound to the exchange, and
 * an event published before would be dropped.
 */
export async function consumerAttached(broker: Broker, queue: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ch = await broker.confirmChannel();
    // A queue not declared yet closes the channel (404): just try again.
    const consumers = await ch.checkQueue(queue).then(
      (q) => q.consumerCount,
      () => 0,
    );
    await ch.close().catch(() => undefined);
    if (consumers > 0) return;
    if (Date.now() > end) throw new Error(`no consumer attached to ${queue}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
