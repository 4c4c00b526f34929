// The outbox relay: publishes committed outbox rows, oldest first, as persistent messages with
// publisher confirms, and marks them sent in the same local transaction that locked them.
// Several relays may run: rows another relay holds are skipped (SKIP LOCKED). A crash between
// publish and mark republishes the batch; consumers are idempotent by event id.
import { context } from '@opentelemetry/api';
import type { ConfirmChannel } from 'amqplib';
import type { Database } from '../db';
import type { Logger } from '../log';
import { OUTBOX_LAG, OUTBOX_UNSENT } from '../metrics/catalog';
import { coalesce, type Metrics } from '../metrics/registry';
import { contextFrom } from '../telemetry/telemetry';
import type { Broker } from './broker';
import { TRACEPARENT, encodeEnvelope } from './envelope';

export interface RelayOptions {
  batch: number;
  /** Poll interval; a wake() after a commit publishes sooner. */
  pollMs: number;
  /**
   * After a wake(), wait this long for more commits: under load one batch then carries the
   * events of many transactions instead of one each (docs/performance.md).
   */
  lingerMs: number;
  /** Longest wait between attempts while the broker is unreachable. */
  maxBackoffMs: number;
}

interface OutboxRow {
  id: number;
  event_id: string;
  type: string;
  version: number;
  aggregate_id: string;
  payload: string | Record<string, unknown>;
  trace_context: string | null;
  occurred_at: Date;
}

export class OutboxRelay {
  private channel: ConfirmChannel | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private wakeUp: ((afterMs: number) => void) | undefined;
  private failures = 0;
  private readonly unregister: (() => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly broker: Broker,
    private readonly opts: RelayOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  /** Publish soon: an event was just committed. */
  wake(): void {
    this.wakeUp?.(this.opts.lingerMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const off of this.unregister.splice(0)) off();
    this.wakeUp?.(0);
    await this.running;
    await this.channel?.close().catch(() => undefined);
  }

  /** Unsent rows, and how old the oldest is (for lag metrics and tests). */
  async backlog(): Promise<{ unsent: number; oldestMs: number }> {
    const [row] = await this.db.query<{ n: number; oldest: Date | null }>(
      'SELECT COUNT(*) AS n, MIN(occurred_at) AS oldest FROM outbox WHERE sent_at IS NULL',
    );
    return {
      unsent: Number(row?.n ?? 0),
      oldestMs: row?.oldest ? Date.now() - row.oldest.getTime() : 0,
    };
  }

  /**
   * Exposes the backlog as outbox_unsent_events{service} and outbox_lag_seconds{service}, read
   * on scrape (one query for both); until stop().
   */
  registerMetrics(metrics: Metrics, service: string): void {
    const read = coalesce(() => this.backlog());
    this.unregister.push(
      metrics.gaugeOnScrape(OUTBOX_UNSENT, service, async () => [
        { labels: { service }, value: (await read()).unsent },
      ]),
      metrics.gaugeOnScrape(OUTBOX_LAG, service, async () => [
        { labels: { service }, value: Math.max(0, (await read()).oldestMs) / 1000 },
      ]),
    );
  }

  /** Publishes one batch; returns how many rows it sent. */
  async publishBatch(): Promise<number> {
    const ch = await this.openChannel();
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<OutboxRow>(
        `SELECT id, event_id, type, version, aggregate_id, payload, trace_context, occurred_at FROM outbox
         WHERE sent_at IS NULL AND hold_gid IS NULL ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [this.opts.batch],
      );
      if (rows.length === 0) return 0;
      for (const r of rows) {
        const payload =
          typeof r.payload === 'string'
            ? (JSON.parse(r.payload) as Record<string, unknown>)
            : r.payload;
        const body = encodeEnvelope({
          eventId: r.event_id,
          type: r.type,
          version: r.version,
          occurredAt: r.occurred_at.toISOString(),
          aggregateId: r.aggregate_id,
          payload,
        });
        // Published in the context of the request that produced it: the publish span (and so
        // the consumers' spans) join that request's trace.
        context.with(contextFrom(r.trace_context), () =>
          ch.publish(this.broker.opts.exchange, r.type, body, {
            persistent: true,
            contentType: 'application/json',
            messageId: r.event_id,
            type: r.type,
            timestamp: Math.floor(r.occurred_at.getTime() / 1000),
            headers: r.trace_context ? { [TRACEPARENT]: r.trace_context } : {},
          }),
        );
      }
      await ch.waitForConfirms();
      await tx.writeAtEnd(
        `UPDATE outbox SET sent_at = ? WHERE id IN (${rows.map(() => '?').join(', ')})`,
        [new Date(), ...rows.map((r) => r.id)],
      );
      return rows.length;
    });
  }

  private async openChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    const ch = await this.broker.confirmChannel();
    ch.on('close', () => {
      if (this.channel === ch) this.channel = undefined;
    });
    this.channel = ch;
    return ch;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let sent = 0;
      try {
        sent = await this.publishBatch();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.channel = undefined;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.log.warn(
            { err, failures: this.failures },
            'outbox relay cannot publish; rows stay until the broker is back',
          );
        }
      }
      if (sent === this.opts.batch) continue;
      const wait = this.failures
        ? Math.min(this.opts.maxBackoffMs, 100 * 2 ** Math.min(this.failures, 10))
        : this.opts.pollMs;
      await this.sleep(wait);
    }
  }

  /** Sleeps up to `ms`; a wake-up shortens what is left to its own delay. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let until = Date.now() + ms;
      let timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = (afterMs) => {
        if (afterMs <= 0) return done();
        if (Date.now() + afterMs >= until) return;
        until = Date.now() + afterMs;
        clearTimeout(timer);
        timer = setTimeout(done, afterMs);
      };
    });
  }
}
