// Idempotency-Key as the services that own the effect read it: the header the gateway forwards
// (checked there too), and the fingerprint of what was asked under it. A key belongs to its
// caller; the same key with another request is refused (IDEMPOTENCY_KEY_REUSED).
import { createHash } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { invalidArgument } from './errors';

export const IDEMPOTENCY_METADATA = 'idempotency-key';
const MAX_CHARS = 128;
// gRPC metadata text values are printable ASCII, as the gateway requires of the header.
const PRINTABLE = /^[\x20-\x7e]+$/;

/** The call's Idempotency-Key, undefined when absent; INVALID_ARGUMENT when malformed. */
export function idempotencyKeyOf(md: Metadata): string | undefined {
  const [raw] = md.get(IDEMPOTENCY_METADATA);
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || raw.length > MAX_CHARS || !PRINTABLE.test(raw)) {
    throw invalidArgument(
      'Idempotency-Key',
      `Idempotency-Key must be 1-${MAX_CHARS} printable ASCII characters`,
    );
  }
  return raw;
}

/** Fingerprint of a request: a repeated key with another request is refused. */
export function fingerprint(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}
