// google.rpc.Status with an ErrorInfo detail, carried in the standard
// grpc-status-details-bin trailer: the one wire shape for errors inside the mesh.
import { Metadata, type ServiceError, status as Status } from '@grpc/grpc-js';
import { Status as RpcStatus } from '../../gen/google/rpc/status';
import { ErrorInfo } from '../../gen/google/rpc/error_details';
import { DomainError, genericReason, isReason } from '../errors';

export const ERROR_DOMAIN = 'boxoffice';
const DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';

export interface ErrorDetail {
  code: Status;
  message: string;
  reason: string;
  metadata: Record<string, string>;
}

/** The grpc-js error object for a domain error, with its ErrorInfo trailer. */
export function toServiceError(err: DomainError): Partial<ServiceError> {
  return statusError({
    code: err.code,
    message: err.message,
    reason: err.reason,
    metadata: err.metadata,
  });
}

export function statusError(detail: ErrorDetail): Partial<ServiceError> {
  const info = ErrorInfo.encode({
    reason: detail.reason,
    domain: ERROR_DOMAIN,
    metadata: detail.metadata,
  }).finish();
  const body = RpcStatus.encode({
    code: detail.code,
    message: detail.message,
    details: [{ typeUrl: ERROR_INFO_TYPE, value: Buffer.from(info) }],
  }).finish();
  const metadata = new Metadata();
  metadata.set(DETAILS_KEY, Buffer.from(body));
  return { code: detail.code, details: detail.message, metadata };
}

/** Reads code, message and reason of an error received from another service. */
export function errorDetail(err: ServiceError): ErrorDetail {
  const [raw] = err.metadata?.get(DETAILS_KEY) ?? [];
  if (Buffer.isBuffer(raw)) {
    try {
      const st = RpcStatus.decode(raw);
      const any = st.details.find((d) => d.typeUrl === ERROR_INFO_TYPE);
      if (any) {
        const info = ErrorInfo.decode(any.value);
        return {
          code: err.code,
          message: st.message || err.details,
          reason: info.reason,
          metadata: info.metadata,
        };
      }
    } catch {
      // fall through to the generic reason
    }
  }
  return { code: err.code, message: err.details, reason: genericReason(err.code), metadata: {} };
}

/** True when an error came from a remote call (not a local bug). */
export function isServiceError(err: unknown): err is ServiceError {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    'metadata' in err &&
    'details' in err
  );
}

/** Re-raises a remote domain refusal as a local DomainError so it passes through unchanged. */
export function asDomainError(err: ServiceError): DomainError | undefined {
  const d = errorDetail(err);
  if (d.code === Status.UNKNOWN || d.code === Status.INTERNAL) return undefined;
  return isReason(d.reason) ? new DomainError(d.reason, d.message, d.metadata) : undefined;
}
