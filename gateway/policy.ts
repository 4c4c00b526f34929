// The per-route access policy beyond the JWT: the waiting-room token (X-Queue-Token) and the
// headers the gateway forwards to services as gRPC metadata.
import type { IncomingHttpHeaders } from 'node:http';
import { Metadata } from '@grpc/grpc-js';
import { CALLER_METADATA, type CallerSigner, type EndUser } from '../lib/trust/caller';
import { invalidArgument, unauthenticated } from './errors';
import type { Policy } from './routes';

export const QUEUE_TOKEN_HEADER = 'x-queue-token';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REQUEST_ID_METADATA = 'x-request-id';
const MAX_IDEMPOTENCY_KEY = 128;
const MAX_QUEUE_TOKEN = 1024;
// gRPC metadata text values must be printable ASCII; anything else could not be forwarded.
const PRINTABLE = /^[\x20-\x7e]+$/;

/** The X-Queue-Token the route needs, or undefined when it ignores the header. */
export function queueToken(policy: Policy, headers: IncomingHttpHeaders): string | undefined {
  if (policy.queueToken === 'NONE') return undefined;
  const raw = single(headers[QUEUE_TOKEN_HEADER])?.trim();
  if (!raw)
    throw unauthenticated(
      'QUEUE_TOKEN_REQUIRED',
      'this route needs a waiting-room token (X-Queue-Token)',
    );
  if (raw.length > MAX_QUEUE_TOKEN || !PRINTABLE.test(raw)) {
    throw unauthenticated('QUEUE_TOKEN_INVALID', 'the waiting-room token is malformed');
  }
  return raw;
}

/** Idempotency-Key when given: 1-128 printable ASCII characters. */
export function idempotencyKey(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  const key = single(raw);
  if (
    key === undefined ||
    key.length < 1 ||
    key.length > MAX_IDEMPOTENCY_KEY ||
    !PRINTABLE.test(key)
  ) {
    throw invalidArgument(
      'Idempotency-Key',
      `Idempotency-Key must be 1-${MAX_IDEMPOTENCY_KEY} printable ASCII characters`,
    );
  }
  return key;
}

function single(v: string | string[] | undefined): string | undefined {
  // Node joins most repeated headers with ", "; a custom header repeated stays an array.
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}

export interface Forwarded {
  caller: EndUser | undefined;
  queueToken: string | undefined;
  idempotencyKey: string | undefined;
  requestId: string;
}

/**
 * The metadata a service call carries: the gateway's signed identity naming the end user, the
 * queue token, the idempotency key and the request id.
 */
export function callMetadata(f: Forwarded, gateway: CallerSigner): Metadata {
  const md = new Metadata();
  md.set(CALLER_METADATA, gateway.token(f.caller));
  if (f.queueToken !== undefined) md.set(QUEUE_TOKEN_HEADER, f.queueToken);
  if (f.idempotencyKey !== undefined) md.set(IDEMPOTENCY_HEADER, f.idempotencyKey);
  md.set(REQUEST_ID_METADATA, f.requestId);
  return md;
}
