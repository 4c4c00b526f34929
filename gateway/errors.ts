// Every non-2xx answer of the gateway: one error type, the canonical gRPC -> HTTP status
// table (docs/api.md), and the google.rpc.Status JSON body. Errors that come from services keep
// their code, message and reason; 5xx internals never reach the client.
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { DomainError, genericReason } from '../lib/errors';
import { ERROR_DOMAIN, errorDetail, isServiceError } from '../lib/grpc/status';

const DETAILS_KEY = 'grpc-status-details-bin';
const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
export const WWW_AUTHENTICATE = 'Bearer realm="boxoffice"';

/** An error answer: gRPC code, HTTP status, reason and the headers it needs. */
export class ApiError extends Error {
  constructor(
    readonly code: Status,
    readonly reason: string,
    message: string,
    readonly metadata: Record<string, string> = {},
    readonly httpStatus: number = httpStatusFor(code, reason),
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  code: number;
  message: string;
  details: { '@type': string; reason: string; domain: string; metadata: Record<string, string> }[];
}

/** The canonical mapping (grpc-gateway's and Envoy's), plus 413 for a body over the limit. */
export function httpStatusFor(code: Status, reason?: string): number {
  if (reason === 'PAYLOAD_TOO_LARGE') return 413;
  switch (code) {
    case Status.INVALID_ARGUMENT:
    case Status.FAILED_PRECONDITION:
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
    case Status.ABORTED:
      return 409;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.CANCELLED:
      return 499;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.UNAVAILABLE:
      return 503;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

export function errorBody(err: ApiError): ErrorBody {
  return {
    code: err.code,
    message: err.message,
    details: [
      {
        '@type': ERROR_INFO_TYPE,
        reason: err.reason,
        domain: ERROR_DOMAIN,
        metadata: err.metadata,
      },
    ],
  };
}

export function fromDomainError(err: DomainError): ApiError {
  return new ApiError(err.code, err.reason, err.message, err.metadata);
}

export function internalError(): ApiError {
  return new ApiError(Status.INTERNAL, 'INTERNAL', 'internal error');
}

/** Messages for errors grpc-js raised itself (no ErrorInfo): its text names hosts and ports. */
const TRANSPORT_MESSAGES: Partial<Record<Status, string>> = {
  [Status.UNAVAILABLE]: 'the service is unavailable',
  [Status.DEADLINE_EXCEEDED]: 'the service did not answer in time',
  [Status.CANCELLED]: 'the call was cancelled',
  [Status.UNIMPLEMENTED]: 'the operation is not implemented',
  [Status.RESOURCE_EXHAUSTED]: 'the service is overloaded',
};

/** A service's refusal as the client sees it. */
export function fromServiceError(err: ServiceError): ApiError {
  const detail = errorDetail(err);
  if (httpStatusFor(detail.code, detail.reason) === 500) return internalError();
  const [trailer] = err.metadata?.get(DETAILS_KEY) ?? [];
  if (Buffer.isBuffer(trailer)) {
    return new ApiError(detail.code, detail.reason, detail.message, detail.metadata);
  }
  const reason =
    detail.code === Status.UNIMPLEMENTED ? 'UNIMPLEMENTED' : genericReason(detail.code);
  const message = TRANSPORT_MESSAGES[detail.code] ?? 'the request was refused';
  return new ApiError(detail.code, reason, message);
}

/** Any thrown value as an ApiError; `internal` marks the ones that must be logged as bugs. */
export function toApiError(err: unknown): { error: ApiError; internal: boolean } {
  if (err instanceof ApiError) return { error: err, internal: err.httpStatus === 500 };
  if (err instanceof DomainError) {
    const error = fromDomainError(err);
    return error.httpStatus === 500
      ? { error: internalError(), internal: true }
      : { error, internal: false };
  }
  if (isServiceError(err)) {
    const error = fromServiceError(err);
    return { error, internal: error.httpStatus === 500 };
  }
  return { error: internalError(), internal: true };
}

export function invalidArgument(field: string, message: string): ApiError {
  return new ApiError(Status.INVALID_ARGUMENT, 'INVALID_ARGUMENT', message, { field });
}

export function payloadTooLarge(limit: number): ApiError {
  return new ApiError(
    Status.RESOURCE_EXHAUSTED,
    'PAYLOAD_TOO_LARGE',
    `request body exceeds ${limit} bytes`,
  );
}

export function notFound(message = 'no such route'): ApiError {
  return new ApiError(Status.NOT_FOUND, 'NOT_FOUND', message);
}

/** 405 keeps gRPC's code for it (UNIMPLEMENTED, as grpc-gateway does) with reason NOT_FOUND. */
export function methodNotAllowed(method: string, allow: string[]): ApiError {
  return new ApiError(
    Status.UNIMPLEMENTED,
    'NOT_FOUND',
    `method ${method} is not allowed here`,
    {},
    405,
    {
      Allow: allow.join(', '),
    },
  );
}

/** 401 with the RFC 6750 challenge; `invalid` adds error="invalid_token". */
export function unauthenticated(reason: string, message: string, invalid = false): ApiError {
  const challenge = invalid ? `${WWW_AUTHENTICATE}, error="invalid_token"` : WWW_AUTHENTICATE;
  return new ApiError(Status.UNAUTHENTICATED, reason, message, {}, 401, {
    'WWW-Authenticate': challenge,
  });
}
