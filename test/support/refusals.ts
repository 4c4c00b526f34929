// What a refused call answered, for tests that assert on refusals: over gRPC, its status code
// and reason; called directly, its DomainError's reason. Each fails the test when the call
// succeeds.
import type { ServiceError } from '@grpc/grpc-js';
import { DomainError } from '../../lib/errors';
import { errorDetail, type ErrorDetail } from '../../lib/grpc/status';

export type Refusal = Pick<ErrorDetail, 'code' | 'reason'>;

/** A gRPC call's refusal: status code and reason. */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  const { code, reason } = await refusalWithMetadata(call);
  return { code, reason };
}

/** A gRPC call's refusal with its metadata (the field a refused request names, and such). */
export async function refusalWithMetadata(
  call: Promise<unknown>,
): Promise<Refusal & Pick<ErrorDetail, 'metadata'>> {
  try {
    await call;
  } catch (err) {
    const { code, reason, metadata } = errorDetail(err as ServiceError);
    return { code, reason, metadata };
  }
  throw new Error('the call succeeded');
}

/** The reason a use case refused with; any error but a DomainError is thrown on. */
export async function domainRefusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof DomainError) return err.reason;
    throw err;
  }
  throw new Error('the call succeeded');
}

/** The field a synchronous check refused (its DomainError's metadata.field); undefined if none. */
export function refusedField(check: () => unknown): string | undefined {
  try {
    check();
  } catch (err) {
    return err instanceof DomainError ? err.metadata.field : 'not a DomainError';
  }
  return undefined;
}
