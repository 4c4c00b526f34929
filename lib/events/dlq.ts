// Operator access to parked messages: list them, and replay them to their consumer's queue.
import type { Broker } from './broker';
import { ATTEMPTS, LAST_ERROR } from './envelope';
import { parkedQueue } from './consumer';

export interface ParkedMessage {
  eventId: string;
  type: string;
  attempts: number;
  lastError: string;
  body: string;
}

/** Reads every parked message of a consumer queue without removing any. */
export async function listParked(broker: Broker, queue: string): Promise<ParkedMessage[]> {
  const ch = await broker.confirmChannel();
  try {
    const out: ParkedMessage[] = [];
    for (;;) {
      const msg = await ch.get(parkedQueue(queue), { noAck: false });
      if (!msg) break;
      const headers = msg.properties.headers ?? {};
      out.push({
        eventId: String(msg.properties.messageId ?? ''),
        type: String(msg.properties.type ?? ''),
        attempts: Number(headers[ATTEMPTS] ?? 0),
        lastError: String(headers[LAST_ERROR] ?? ''),
        body: msg.content.toString('utf8'),
      });
    }
    return out;
  } finally {
    // Closing without acks returns every read message to the parked queue, in order. A channel
    // that already died (e.g. no such queue) must not hide the error that killed it.
    await ch.close().catch(() => undefined);
  }
}

/** Moves parked messages (all, or those with the given event ids) back to the consumer's queue. */
export async function replayParked(
  broker: Broker,
  queue: string,
  eventIds?: Set<string>,
): Promise<number> {
  const ch = await broker.confirmChannel();
  let replayed = 0;
  try {
    for (;;) {
      const msg = await ch.get(parkedQueue(queue), { noAck: false });
      if (!msg) break;
      if (eventIds && !eventIds.has(String(msg.properties.messageId))) continue;
      ch.sendToQueue(queue, msg.content, {
        ...msg.properties,
        persistent: true,
        headers: { ...msg.properties.headers, [ATTEMPTS]: 0 },
      });
      await ch.waitForConfirms();
      ch.ack(msg);
      replayed++;
    }
    return replayed;
  } finally {
    await ch.close().catch(() => undefined);
  }
}
