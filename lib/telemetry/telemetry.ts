// OpenTelemetry for one process: W3C propagation and the instrumentations of every library we
// do I/O with, exporting by OTEL_TRACES_EXPORTER (otlp | jaeger | none). The SDK reads the
// standard OTEL_* variables (endpoints, batch delays, OTEL_TRACES_SAMPLER) itself. It must start
// before those libraries are first required: cmd/mesh.ts imports ./register first of all.
// With `none` nothing starts: no spans and no propagation, because recording spans nobody reads
// cost a fifth of Reserve's throughput in the bench (docs/performance.md).
import {
  context,
  propagation,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { JaegerExporter } from '@opentelemetry/exporter-jaeger';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Config } from '../config';

/** Paths that are probes, not traffic: no spans. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

let sdk: NodeSDK | undefined;

export function startTelemetry(cfg: Config['telemetry']): void {
  if (sdk) return;
  const exporter = makeExporter(cfg.exporter);
  if (!exporter) return;
  sdk = new NodeSDK({
    serviceName: cfg.serviceName,
    spanProcessors: [new BatchSpanProcessor(exporter)],
    // Traces only: metrics are Prometheus (lib/metrics) and logs are pino. Left to their env
    // defaults, the SDK would start OTLP metric and log exporters (and stall shutdown on them).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => PROBE_PATHS.has((req.url ?? '').split('?')[0] ?? ''),
      }),
      // Health checks and reflection are probes and tooling, not traffic.
      new GrpcInstrumentation({
        ignoreGrpcMethods: [/^Check$/, /^Watch$/, /ServerReflectionInfo/],
      }),
      new MySQL2Instrumentation(),
      new IORedisInstrumentation(),
      new AmqplibInstrumentation(),
      new PinoInstrumentation(),
    ],
  });
  sdk.start();
}

/** Flushes buffered spans; called on shutdown. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown().catch(() => undefined);
  sdk = undefined;
}

function makeExporter(kind: Config['telemetry']['exporter']): SpanExporter | undefined {
  if (kind === 'otlp') return new OTLPTraceExporter();
  if (kind === 'jaeger') return new JaegerExporter();
  return undefined;
}

export function tracer(name: string): Tracer {
  return trace.getTracer(name);
}

/** The W3C traceparent of the active context (for storing with work that continues later). */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** A context whose parent is a stored traceparent (or the root context when there is none). */
export function contextFrom(traceparent: string | null | undefined): Context {
  return traceparent ? propagation.extract(context.active(), { traceparent }) : context.active();
}

/** Runs fn in a new active span; records a thrown error on it and ends it either way. */
export async function inSpan<T>(
  t: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return t.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      throw err;
    } finally {
      span.end();
    }
  });
}
