// The chaos load's HTTP client of the gateway: one call, one answer, never a throw. A process
// may be dead at any moment, so "no answer" (refused, reset, timed out) is an answer too.

export interface Answer {
  /** The HTTP status, or 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  /** The JSON object answered (empty when none or not JSON). */
  body: Record<string, unknown>;
  /** details[0].reason of an error body (docs/api.md), or the network error for status 0. */
  reason?: string;
}

export interface CallOptions {
  token?: string;
  queueToken?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export class Gateway {
  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async call(method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.queueToken) headers['x-queue-token'] = opts.queueToken;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = text ? JSON.parse(text) : {};
        if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
      } catch {
        // not JSON (a proxy's error page): nothing to read
      }
      const details = body.details as { reason?: string }[] | undefined;
      return { status: res.status, body, reason: details?.[0]?.reason };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      const name = err instanceof Error ? err.name : 'Error';
      return { status: 0, body: {}, reason: cause ?? name };
    }
  }
}

/** An answer that says nothing about the outcome: try again (the call may or may not have run). */
export function unknownOutcome(a: Answer): boolean {
  return a.status === 0 || a.status >= 500;
}

/**
 * An answer to ask again, later, with the same request: its outcome is unknown, or the first
 * request under its Idempotency-Key is still running (docs/api.md, 409 IDEMPOTENCY_KEY_IN_PROGRESS).
 */
export function askAgain(a: Answer): boolean {
  return unknownOutcome(a) || (a.status === 409 && a.reason === 'IDEMPOTENCY_KEY_IN_PROGRESS');
}

/** A string field of an answer ('' when missing). */
export function field(a: Answer, name: string): string {
  const v = a.body[name];
  return typeof v === 'string' ? v : '';
}
