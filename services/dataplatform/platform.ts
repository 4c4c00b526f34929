// The HTTP client of the data platform: POSTs JSON and answers the status. node:http on a
// keep-alive agent rather than fetch, whose streams and abort signals cost more CPU per
// delivery than the rest of it (docs/performance.md). Redirects are not followed: a 3xx is
// an answer like any other.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** No answer in time; classifyError (domain/delivery.ts) reports it as a timeout. */
export class PlatformTimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * An idle kept-alive connection is closed before the platform would close it (Node's servers
 * wait 5 s): a POST written on a connection the server is closing fails for nothing.
 */
const IDLE_MS = 4000;

export class DataPlatformClient {
  private readonly url: URL;
  private readonly agent: HttpAgent | HttpsAgent;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(url);
    const Agent = this.url.protocol === 'https:' ? HttpsAgent : HttpAgent;
    this.agent = new Agent({ keepAlive: true, timeout: IDLE_MS });
  }

  /**
   * POSTs body as JSON; resolves with the status as soon as it arrives (the answer's body is
   * drained, not read), or rejects: a PlatformTimeoutError when no status came within the
   * timeout, else the socket's error (its `code` names it).
   */
  post(body: unknown): Promise<number> {
    const payload = Buffer.from(JSON.stringify(body));
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req: ClientRequest = send(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          clearTimeout(timer);
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      // A deadline for the whole exchange, as the contract counts it, not an idle-socket timeout.
      const timer = setTimeout(
        () => req.destroy(new PlatformTimeoutError(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(payload);
    });
  }

  /** Closes every kept-alive connection. */
  close(): void {
    this.agent.destroy();
  }
}
