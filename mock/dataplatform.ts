// The bundled data-platform mock: the receiver of docs/api.md's "Data platform delivery" for local
// runs and tests. It records what arrives, deduplicated by eventId like the real receiver, and
// can be told to fail, stall or answer slowly, so tests can show that bookings never wait on it
// and that every completed reservation still arrives.
//
//   POST <path of DATAPLATFORM_URL>  an event; answered per mode (ok 200, fail 500, stall: held
//                                    until the mode changes, then 503; slow: 200 after delayMs)
//   GET /deliveries                  { deliveries: [{ eventId, count, accepted, body }], unique, received }
//   DELETE /deliveries               forget everything received
//   GET|PUT /control                 { mode: ok|fail|stall|slow, delayMs? }
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/log';
import type { StartService } from '../lib/service';

export const MOCK_MODES = ['ok', 'fail', 'stall', 'slow'] as const;
export type MockMode = (typeof MOCK_MODES)[number];

export interface MockControl {
  mode: MockMode;
  /** How long `slow` waits before answering 200. */
  delayMs: number;
}

export interface MockDelivery {
  eventId: string;
  /** How often this eventId arrived, whatever the answer. */
  count: number;
  /** How often it was answered 2xx (a client that hung up first is not counted). */
  accepted: number;
  /** The body of its first arrival. */
  body: Record<string, unknown>;
}

export interface MockDeliveries {
  deliveries: MockDelivery[];
  /** Distinct eventIds received. */
  unique: number;
  /** Every event POST received, duplicates included. */
  received: number;
}

const CONTROL_PATH = '/control';
const DELIVERIES_PATH = '/deliveries';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_DELAY_MS = 600_000;
const DEFAULT_DELAY_MS = 1000;
/** How long close() lets answered requests flush before cutting connections. */
const CLOSE_GRACE_MS = 2000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Validates a PUT /control body against the current settings; throws HttpError(400). */
export function parseControl(raw: unknown, current: MockControl): MockControl {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new HttpError(400, 'body must be a JSON object');
  const { mode, delayMs } = raw as { mode?: unknown; delayMs?: unknown };
  if (typeof mode !== 'string' || !(MOCK_MODES as readonly string[]).includes(mode))
    throw new HttpError(400, `mode must be one of ${MOCK_MODES.join(', ')}`);
  if (
    delayMs !== undefined &&
    (!Number.isSafeInteger(delayMs) ||
      (delayMs as number) < 0 ||
      (delayMs as number) > MAX_DELAY_MS)
  )
    throw new HttpError(400, `delayMs must be an integer from 0 to ${MAX_DELAY_MS}`);
  return { mode: mode as MockMode, delayMs: (delayMs as number | undefined) ?? current.delayMs };
}

/** A request not answered yet: stalled, or waiting out a slow delay. */
interface Held {
  res: ServerResponse;
  entry: MockDelivery;
  timer?: NodeJS.Timeout;
}

export interface DataplatformMockOptions {
  /** The path events are POSTed to (the path of DATAPLATFORM_URL). */
  path: string;
  log: Logger;
}

export class DataplatformMock {
  private readonly server: Server;
  private readonly received = new Map<string, MockDelivery>();
  private total = 0;
  private control: MockControl = { mode: 'ok', delayMs: DEFAULT_DELAY_MS };
  private readonly held = new Set<Held>();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: DataplatformMockOptions) {
    if (opts.path === CONTROL_PATH || opts.path === DELIVERIES_PATH)
      throw new Error(`the mock cannot take events on ${opts.path}: it serves that path itself`);
    this.server = createServer((req, res) => void this.route(req, res));
  }

  /** Resolves with the bound port (port 0 picks a free one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const bound = (this.server.address() as AddressInfo).port;
        this.opts.log.info(
          { host, port: bound, path: this.opts.path },
          'data platform mock listening',
        );
        resolve(bound);
      });
    });
  }

  /** Answers every held request 503, stops listening and closes the connections. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.releaseHeld(() => true);
      const force = setTimeout(() => this.server.closeAllConnections(), CLOSE_GRACE_MS);
      force.unref();
      this.server.close(() => {
        clearTimeout(force);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (this.closing) throw new HttpError(503, 'shutting down');
      const path = new URL(req.url ?? '/', 'http://mock').pathname;
      const method = req.method ?? 'GET';
      if (path === this.opts.path) {
        allow(method, ['POST']);
        await this.onEvent(req, res);
      } else if (path === DELIVERIES_PATH) {
        allow(method, ['GET', 'DELETE']);
        if (method === 'GET') send(res, 200, this.snapshot());
        else {
          this.received.clear();
          this.total = 0;
          this.opts.log.info('data platform mock: deliveries reset');
          send(res, 204);
        }
      } else if (path === CONTROL_PATH) {
        allow(method, ['GET', 'PUT']);
        if (method === 'PUT') this.setControl(parseControl(await readJson(req), this.control));
        send(res, 200, { ...this.control, held: this.held.size });
      } else {
        throw new HttpError(404, `no route for ${path}`);
      }
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) this.opts.log.error({ err }, 'data platform mock failed a request');
      const headers = err instanceof HttpError ? err.headers : {};
      send(res, status, { error: err instanceof Error ? err.message : String(err) }, headers);
    }
  }

  private async onEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The contract says JSON; a client that forgets the header should see it here first.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      throw new HttpError(415, 'Content-Type must be application/json');
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new HttpError(400, 'body must be a JSON object');
    const { eventId } = body as { eventId?: unknown };
    if (typeof eventId !== 'string' || eventId === '')
      throw new HttpError(400, 'eventId must be a non-empty string');
    let entry = this.received.get(eventId);
    if (!entry) {
      entry = { eventId, count: 0, accepted: 0, body: body as Record<string, unknown> };
      this.received.set(eventId, entry);
    }
    entry.count++;
    this.total++;
    this.opts.log.debug({ eventId, count: entry.count, mode: this.control.mode }, 'event received');
    switch (this.control.mode) {
      case 'ok':
        return this.accept(res, entry);
      case 'fail':
        return send(res, 500, { error: 'mock told to fail' });
      case 'stall':
        return this.hold({ res, entry });
      case 'slow': {
        const held: Held = { res, entry };
        held.timer = setTimeout(() => {
          this.held.delete(held);
          this.accept(res, entry);
        }, this.control.delayMs);
        return this.hold(held);
      }
    }
  }

  private accept(res: ServerResponse, entry: MockDelivery): void {
    if (res.destroyed || res.writableEnded) return; // the client gave up: nothing was delivered
    entry.accepted++;
    send(res, 200, { ok: true, duplicate: entry.accepted > 1 });
  }

  private hold(held: Held): void {
    this.held.add(held);
    // A client that times out hangs up; forget it so `held` counts live requests only.
    held.res.on('close', () => {
      if (held.timer) clearTimeout(held.timer);
      this.held.delete(held);
    });
  }

  private setControl(next: MockControl): void {
    const before = this.control.mode;
    this.control = next;
    // Stalled requests wait for the mode to change; slow ones keep their own timers.
    if (before === 'stall' && next.mode !== 'stall') this.releaseHeld((h) => !h.timer);
    this.opts.log.info({ ...next, was: before }, 'data platform mock mode set');
  }

  private releaseHeld(which: (h: Held) => boolean): void {
    for (const h of [...this.held]) {
      if (!which(h)) continue;
      if (h.timer) clearTimeout(h.timer);
      this.held.delete(h);
      if (!h.res.destroyed && !h.res.writableEnded)
        send(h.res, 503, { error: 'mock stopped stalling' });
    }
  }

  private snapshot(): MockDeliveries {
    return {
      deliveries: [...this.received.values()].map((d) => ({ ...d })),
      unique: this.received.size,
      received: this.total,
    };
  }
}

/** Where the mock listens (DATAPLATFORM_MOCK_HOST, the port of DATAPLATFORM_URL) and its path. */
export function mockAddress(config: Config): { host: string; port: number; path: string } {
  const url = mockUrl(config.dataplatformUrl);
  return { host: config.dataplatformMockHost, port: Number(url.port || 80), path: url.pathname };
}

/** Hosts the mock at mockAddress. */
export const startDataplatformMock: StartService = async (ctx) => {
  const { host, port, path } = mockAddress(ctx.config);
  const mock = new DataplatformMock({ path, log: ctx.log.child({ service: 'dataplatform-mock' }) });
  const bound = await mock.listen(host, port);
  ctx.lifecycle.onStop('dataplatform mock', () => mock.close());
  return bound;
};

function mockUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`DATAPLATFORM_URL is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:')
    throw new Error(`the data platform mock serves http:// only; DATAPLATFORM_URL is "${raw}"`);
  return url;
}

function allow(method: string, allowed: string[]): void {
  if (!allowed.includes(method))
    throw new HttpError(405, `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}
