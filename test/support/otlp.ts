// A small OTLP/HTTP receiver (JSON encoding): collects the spans the mesh's processes export,
// so tests can assert on whole traces without a Jaeger.
import { createServer, type Server } from 'node:http';

export interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  /** Nanoseconds since the epoch, as OTLP sends it (a decimal string: beyond 2^53). */
  startTimeUnixNano: bigint;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
  links: { traceId: string; spanId: string }[];
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpKv {
  key: string;
  value: OtlpValue;
}

const attrs = (kvs: OtlpKv[] = []) =>
  Object.fromEntries(
    kvs.map((kv) => [
      kv.key,
      kv.value.stringValue ??
        kv.value.boolValue ??
        Number(kv.value.intValue ?? kv.value.doubleValue),
    ]),
  );

/** OTLP JSON carries ids as hex; older encoders used base64. */
const hexId = (id: string | undefined) =>
  !id ? '' : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');

export class OtlpReceiver {
  readonly spans: CollectedSpan[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.collect(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  trace(traceId: string): CollectedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  private collect(body: {
    resourceSpans?: {
      resource?: { attributes?: OtlpKv[] };
      scopeSpans?: { spans?: any[] }[];
    }[];
  }): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: hexId(s.parentSpanId),
            name: s.name,
            kind: Number(s.kind),
            startTimeUnixNano: BigInt(s.startTimeUnixNano ?? 0),
            attributes: attrs(s.attributes),
            events: (s.events ?? []).map((e: { name: string; attributes?: OtlpKv[] }) => ({
              name: e.name,
              attributes: attrs(e.attributes),
            })),
            links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({
              traceId: hexId(l.traceId),
              spanId: hexId(l.spanId),
            })),
          });
        }
      }
    }
  }
}
