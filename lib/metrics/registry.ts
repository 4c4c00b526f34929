// One Prometheus registry per process (never prom-client's global one, so tests can hold several),
// with Node's default metrics. Components get their metrics here by definition: asking twice for
// the same name returns the same metric, and asking for a name with another definition throws,
// so several services in one process (SERVICES=all) share series without colliding.
// Gauges that describe state elsewhere (a table, a queue, Redis) are read on scrape from
// "sources" — no timers, nothing on the request path, and no spans: a scrape is not traffic.
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type LabelValues,
} from 'prom-client';
import type { Logger } from '../log';

export interface MetricDef<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

export interface HistogramDef<L extends string> extends MetricDef<L> {
  buckets: readonly number[];
}

/** One value of a gauge read on scrape. */
export interface Sample<L extends string> {
  labels: LabelValues<L>;
  value: number;
}

/** Reads a gauge's current samples; called on every scrape. */
export type SampleReader<L extends string> = () => Promise<Sample<L>[]>;

export interface MetricsOptions {
  /** Node's default process metrics (process_cpu_seconds_total, heap, event loop, ...). */
  defaultMetrics?: boolean;
  /** How long a scrape waits for one source before leaving its samples out. */
  sourceTimeoutMs?: number;
  /** Where failing sources are reported (debug level: an outage is already logged elsewhere). */
  log?: Logger;
}

type Kind = 'counter' | 'gauge' | 'histogram' | 'scraped gauge';

interface Entry {
  kind: Kind;
  /** Label names and buckets, compared when the same name is asked for again. */
  shape: string;
  metric: Counter<string> | Gauge<string> | Histogram<string>;
  /** Scraped gauges only: their sources by key. */
  sources?: Map<string, SampleReader<string>>;
}

const DEFAULT_SOURCE_TIMEOUT_MS = 2000;

export class Metrics {
  readonly registry = new Registry();
  private readonly entries = new Map<string, Entry>();
  private readonly sourceTimeoutMs: number;
  private readonly log: Logger | undefined;

  constructor(opts: MetricsOptions = {}) {
    this.sourceTimeoutMs = opts.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
    this.log = opts.log;
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of text(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  counter<L extends string>(def: MetricDef<L>): Counter<L> {
    return this.getOrCreate('counter', def, '', () => ({
      metric: new Counter({ ...base(def), registers: [this.registry] }),
    })).metric as Counter<L>;
  }

  gauge<L extends string>(def: MetricDef<L>): Gauge<L> {
    return this.getOrCreate('gauge', def, '', () => ({
      metric: new Gauge({ ...base(def), registers: [this.registry] }),
    })).metric as Gauge<L>;
  }

  histogram<L extends string>(def: HistogramDef<L>): Histogram<L> {
    return this.getOrCreate('histogram', def, `buckets=${def.buckets.join(',')}`, () => ({
      metric: new Histogram({
        ...base(def),
        buckets: [...def.buckets],
        registers: [this.registry],
      }),
    })).metric as Histogram<L>;
  }

  /**
   * Adds a source to a gauge read on scrape. Every scrape asks all sources of the gauge at once
   * and shows exactly what they answered: a source that fails or takes longer than the source
   * timeout contributes no samples (its series vanish rather than go stale). A second source
   * with the same key replaces the first. Returns the function that removes the source.
   */
  gaugeOnScrape<L extends string>(
    def: MetricDef<L>,
    key: string,
    read: SampleReader<L>,
  ): () => void {
    const entry = this.getOrCreate('scraped gauge', def, '', () => {
      const sources = new Map<string, SampleReader<string>>();
      const readAll = () => this.readSources(def.name, sources);
      const unlabelled = def.labelNames.length === 0;
      const collect = async function (this: Gauge<string>) {
        const samples = await readAll();
        // Replaced in one synchronous step, so a concurrent scrape never sees half a set.
        this.reset();
        // reset() leaves an unlabelled gauge at 0: without an answer it must show nothing.
        if (unlabelled && samples.length === 0) this.remove();
        for (const s of samples) this.set(s.labels, s.value);
      };
      return { metric: new Gauge({ ...base(def), registers: [this.registry], collect }), sources };
    });
    const sources = entry.sources;
    if (!sources) throw new Error(`metric ${def.name} has no sources`);
    const reader = read as SampleReader<string>;
    sources.set(key, reader);
    return () => {
      if (sources.get(key) === reader) sources.delete(key);
    };
  }

  private async readSources(
    name: string,
    sources: Map<string, SampleReader<string>>,
  ): Promise<Sample<string>[]> {
    const keys = [...sources.keys()];
    // The queries a scrape makes (outbox, Redis, broker) would otherwise each start a trace.
    const quiet = suppressTracing(context.active());
    const results = await Promise.allSettled(
      [...sources.values()].map((read) =>
        context.with(quiet, () => withTimeout(read(), this.sourceTimeoutMs)),
      ),
    );
    const out: Sample<string>[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') out.push(...r.value);
      else
        this.log?.debug({ err: r.reason, metric: name, source: keys[i] }, 'metric source failed');
    });
    return out;
  }

  private getOrCreate<L extends string>(
    kind: Kind,
    def: MetricDef<L>,
    extra: string,
    create: () => Pick<Entry, 'metric' | 'sources'>,
  ): Entry {
    const shape = `labels=${def.labelNames.join(',')} ${extra}`.trim();
    const known = this.entries.get(def.name);
    if (known) {
      if (known.kind !== kind || known.shape !== shape) {
        throw new Error(
          `metric ${def.name} is already registered as a ${known.kind} (${known.shape}); ` +
            `asked for a ${kind} (${shape})`,
        );
      }
      return known;
    }
    const entry: Entry = { kind, shape, ...create() };
    this.entries.set(def.name, entry);
    return entry;
  }
}

function base<L extends string>(def: MetricDef<L>) {
  return { name: def.name, help: def.help, labelNames: [...def.labelNames] };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Shares one in-flight call among concurrent callers: gauges fed by one query (say, unsent rows
 * and their age) read it once per scrape, because a scrape collects all gauges at once.
 */
export function coalesce<T>(fn: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= fn().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
