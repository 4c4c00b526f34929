// Events straight onto the exchange, as the outbox relay publishes them, for consumer tests
// that have no producing service running; and, for end-to-end tests, what a mesh published on
// its exchange and what reached its data-platform mock.
import amqp, { type ChannelModel } from 'amqplib';
import { loadConfig } from '../../lib/config';
import type { Broker } from '../../lib/events/broker';
import { decodeEnvelope, encodeEnvelope, type EventEnvelope } from '../../lib/events/envelope';
import { newId } from '../../lib/ids';
import type { Mesh } from './mesh';

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

/** An event a tap received, and when (epoch milliseconds). */
export interface TappedEvent {
  event: EventEnvelope;
  receivedAt: number;
}

/**
 * Every event a mesh publishes from now on, whatever its type: a queue of the tap's own, bound
 * to the mesh's exchange with '#', as a consumer would see them.
 */
export class ExchangeTap {
  readonly received: TappedEvent[] = [];

  private constructor(private readonly conn: ChannelModel) {}

  static async open(mesh: Mesh): Promise<ExchangeTap> {
    const { amqpUrl, events } = loadConfig(mesh.env);
    const conn = await amqp.connect(amqpUrl);
    const ch = await conn.createChannel();
    const tap = new ExchangeTap(conn);
    await ch.assertExchange(events.exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, events.exchange, '#');
    await ch.consume(
      queue,
      (msg) => {
        if (msg) tap.received.push({ event: decodeEnvelope(msg.content), receivedAt: Date.now() });
      },
      { noAck: true },
    );
    return tap;
  }

  /** The events received so far that `match` picks, in order of arrival. */
  events(match: (e: EventEnvelope) => boolean): TappedEvent[] {
    return this.received.filter((t) => match(t.event));
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}
