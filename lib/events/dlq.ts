// Operator access to parked messages: list them, replay them to their consumer's queue, or drop
// them for good.
import type { ConfirmChannel, GetMessage } from 'amqplib';
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

/** Reads the parked messages of a consumer queue (the first `limit`) without removing any. */
export async function listParked(
  broker: Broker,
  queue: string,
  limit = Infinity,
): Promise<ParkedMessage[]> {
  const ch = await broker.confirmChannel();
  try {
    const out: ParkedMessage[] = [];
    while (out.length < limit) {
      const msg = await ch.get(parkedQueue(queue), { noAck: false });
      if (!msg) break;
      const headers = msg.properties.headers ?? {};
      out.push({
        eventId: eventIdOf(msg),
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

/** How many messages are parked for a consumer queue. */
export async function parkedCount(broker: Broker, queue: string): Promise<number> {
  const ch = await broker.confirmChannel();
  try {
    return (await ch.checkQueue(parkedQueue(queue))).messageCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Moves parked messages (all, or those with the given event ids) back to the consumer's queue. */
export function replayParked(
  broker: Broker,
  queue: string,
  eventIds?: Set<string>,
): Promise<number> {
  return takeParked(broker, queue, eventIds, async (ch, msg) => {
    ch.sendToQueue(queue, msg.content, {
      ...msg.properties,
      persistent: true,
      headers: { ...msg.properties.headers, [ATTEMPTS]: 0 },
    });
    await ch.waitForConfirms();
  });
}

/** Removes the parked messages with the given event ids for good. */
export function dropParked(broker: Broker, queue: string, eventIds: Set<string>): Promise<number> {
  return takeParked(broker, queue, eventIds, () => Promise.resolve());
}

/**
 * Takes parked messages (all, or those with the given event ids) off the parked queue, each
 * acked only after `use` succeeded with it; the others go back in order when the channel closes.
 */
async function takeParked(
  broker: Broker,
  queue: string,
  eventIds: Set<string> | undefined,
  use: (ch: ConfirmChannel, msg: GetMessage) => Promise<void>,
): Promise<number> {
  const ch = await broker.confirmChannel();
  let taken = 0;
  try {
    for (;;) {
      const msg = await ch.get(parkedQueue(queue), { noAck: false });
      if (!msg) break;
      if (eventIds && !eventIds.has(eventIdOf(msg))) continue;
      await use(ch, msg);
      ch.ack(msg);
      taken++;
    }
    return taken;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

function eventIdOf(msg: GetMessage): string {
  return String(msg.properties.messageId ?? '');
}
