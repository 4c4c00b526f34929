// Reading the Prometheus text format in tests: scrape an endpoint, pick samples by name and labels.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Every sample of a scrape (comments skipped). */
export function parseMetrics(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) {
      labels[k] = v.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): PromSample[] {
  return parseMetrics(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of those samples, or undefined when there is none. */
export function valueOf(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samplesOf(text, name, labels);
  return found.length ? found.reduce((sum, s) => sum + s.value, 0) : undefined;
}

/** GET url, expecting the Prometheus text format. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`GET ${url}: ${type}`);
  return res.text();
}

/**
 * The unary calls of `service`'s `method` that a process has answered (a call still running is
 * not counted), by gRPC status code name: OK, UNAVAILABLE, ABORTED...
 */
export async function answeredCalls(
  metricsUrl: string,
  service: string,
  method: string,
): Promise<Record<string, number>> {
  const answered: Record<string, number> = {};
  const text = await scrape(metricsUrl);
  for (const s of samplesOf(text, 'grpc_server_duration_seconds_count', { service, method }))
    answered[s.labels.code] = s.value;
  return answered;
}
