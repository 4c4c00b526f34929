// The load generator's HTTP client: node:http on a keep-alive agent of its own, JSON in and out.
// Lighter than fetch on the client side, which shares the machine's two cores with the server.
import { Agent, request, type OutgoingHttpHeaders } from 'node:http';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
}

export interface HttpOptions {
  headers?: OutgoingHttpHeaders;
  body?: unknown;
  timeoutMs?: number;
}

/** A failure before any answer (connection refused or reset, timeout): status 0 in results. */
export class TransportError extends Error {}

export class HttpClient {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  /**
   * `idleMs` closes a kept-alive connection idle that long. It must stay under the server's
   * keep-alive timeout (Node's default is 5 s): otherwise a request sent on a connection the
   * server is closing at that instant fails with "socket hang up", which happened between phases.
   */
  constructor(baseUrl: string, maxSockets: number, idleMs = 4000) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    // An agent's timeout applies to its free sockets; a request sets its own while it runs.
    this.agent = new Agent({
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      timeout: idleMs,
    });
  }

  request<T = unknown>(
    method: string,
    path: string,
    opts: HttpOptions = {},
  ): Promise<HttpResult<T>> {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: OutgoingHttpHeaders = { ...opts.headers };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const req = request(
        { agent: this.agent, host: this.host, port: this.port, method, path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new TransportError(err.message)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            if (text && (res.headers['content-type'] ?? '').includes('json')) {
              try {
                body = JSON.parse(text);
              } catch {
                // keep the text
              }
            }
            resolve({ status: res.statusCode ?? 0, body: body as T });
          });
        },
      );
      req.setTimeout(opts.timeoutMs ?? 30_000, () =>
        req.destroy(new TransportError(`${method} ${path}: no answer in time`)),
      );
      req.on('error', (err) =>
        reject(err instanceof TransportError ? err : new TransportError(err.message)),
      );
      req.end(payload);
    });
  }

  /**
   * Opens `n` keep-alive connections at once (each carries one GET of `path`), so that a burst
   * that follows measures requests, not TCP handshakes against the server's accept backlog.
   */
  async warm(n: number, path: string): Promise<void> {
    await Promise.all(Array.from({ length: n }, () => this.request('GET', path)));
  }

  close(): void {
    this.agent.destroy();
  }
}
