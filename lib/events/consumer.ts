// One mechanism for every event consumer. A failed message is re-published to a retry queue
// whose TTL dead-letters it back to the consumer's queue after a growing delay; after the last
// delay it is parked in `<queue>.parked` for an operator (cmd/dlq.ts). Handlers must be
// idempotent by event id (see processed.ts): a message can arrive more than once.
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../log';
import { DLQ_PARKED } from '../metrics/catalog';
import type { Metrics } from '../metrics/registry';
import type { Broker } from './broker';
import { ATTEMPTS, LAST_ERROR, decodeEnvelope, type EventEnvelope } from './envelope';

export interface ConsumerSpec {
  /** Queue name, e.g. "dataplatform.deliveries". */
  queue: string;
  /** Event types (routing keys) the queue receives. */
  events: string[];
  /** Delays of the retry queues, in order; one more failure parks the message. */
  retryDelaysMs: number[];
  prefetch: number;
  handle(event: EventEnvelope): Promise<void>;
}

export const retryQueue = (queue: string, attempt: number) => `${queue}.retry.${attempt}`;
export const parkedQueue = (queue: string) => `${queue}.parked`;

/** Declares a consumer's queues: main (bound to the exchange), retry ladder, parked. */
export async function declareConsumerQueues(
  ch: ConfirmChannel,
  exchange: string,
  spec: Pick<ConsumerSpec, 'queue' | 'events' | 'retryDelaysMs'>,
): Promise<void> {
  await ch.assertQueue(spec.queue, { durable: true });
  for (const type of spec.events) await ch.bindQueue(spec.queue, exchange, type);
  for (const [i, delay] of spec.retryDelaysMs.entries()) {
    await ch.assertQueue(retryQueue(spec.queue, i), {
      durable: true,
      arguments: {
        'x-message-ttl': delay,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': spec.queue,
      },
    });
  }
  await ch.assertQueue(parkedQueue(spec.queue), { durable: true });
}

export class EventConsumer {
  private channel: ConfirmChannel | undefined;
  private stopped = false;
  private reattach: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private failures = 0;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly spec: ConsumerSpec,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.attach();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unregister?.();
    if (this.reattach) clearTimeout(this.reattach);
    const ch = this.channel;
    this.channel = undefined;
    await Promise.allSettled([...this.inFlight]);
    await ch?.close().catch(() => undefined);
  }

  /**
   * Exposes dlq_parked_messages{queue} (queue: this consumer's queue), read on scrape, until
   * stop(). Only while attached: then the parked queue exists and the broker answers; otherwise
   * the series is left out rather than connecting from the scrape.
   */
  registerMetrics(metrics: Metrics): void {
    const queue = this.spec.queue;
    this.unregister = metrics.gaugeOnScrape(DLQ_PARKED, queue, async () => {
      if (!this.channel) return [];
      // A channel of its own: a failed check closes the channel it runs on.
      const ch = await this.broker.confirmChannel();
      try {
        const { messageCount } = await ch.checkQueue(parkedQueue(queue));
        return [{ labels: { queue }, value: messageCount }];
      } finally {
        await ch.close().catch(() => undefined);
      }
    });
  }

  private async attach(): Promise<void> {
    if (this.stopped) return;
    try {
      const ch = await this.broker.confirmChannel();
      await declareConsumerQueues(ch, this.broker.opts.exchange, this.spec);
      await ch.prefetch(this.spec.prefetch);
      ch.on('close', () => {
        if (this.channel !== ch) return;
        this.channel = undefined;
        this.schedule();
      });
      this.channel = ch;
      await ch.consume(this.spec.queue, (msg) => {
        if (!msg) return;
        const work = this.onMessage(ch, msg).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      });
      this.failures = 0;
      this.log.info({ queue: this.spec.queue }, 'consumer attached');
    } catch (err) {
      this.failures++;
      if (this.failures === 1 || this.failures % 20 === 0)
        this.log.warn({ err, queue: this.spec.queue }, 'consumer cannot attach; retrying');
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    this.reattach = setTimeout(() => void this.attach(), wait);
    this.reattach.unref();
  }

  private async onMessage(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    try {
      await this.spec.handle(decodeEnvelope(msg.content));
      ch.ack(msg);
    } catch (err) {
      await this.retryLater(ch, msg, err);
    }
  }

  /** Moves a failed message one rung down the retry ladder, or parks it; then acks the original. */
  private async retryLater(ch: ConfirmChannel, msg: ConsumeMessage, err: unknown): Promise<void> {
    const attempts = Number(msg.properties.headers?.[ATTEMPTS] ?? 0);
    const target =
      attempts < this.spec.retryDelaysMs.length
        ? retryQueue(this.spec.queue, attempts)
        : parkedQueue(this.spec.queue);
    const reason = err instanceof Error ? err.message : String(err);
    this.log.warn(
      {
        queue: this.spec.queue,
        messageId: msg.properties.messageId,
        attempts: attempts + 1,
        target,
        err: reason,
      },
      'event handling failed',
    );
    try {
      ch.sendToQueue(target, msg.content, {
        ...msg.properties,
        persistent: true,
        headers: {
          ...msg.properties.headers,
          [ATTEMPTS]: attempts + 1,
          [LAST_ERROR]: reason.slice(0, 500),
        },
      });
      await ch.waitForConfirms();
      ch.ack(msg);
    } catch (publishErr) {
      // The channel is gone: the unacked message returns to the queue by itself.
      this.log.warn(
        { err: publishErr, queue: this.spec.queue },
        'could not move a failed event; the broker will redeliver it',
      );
    }
  }
}
