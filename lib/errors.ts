// Typed domain errors. Each carries a reason of the REST contract (docs/api.md); its gRPC status
// follows from the reason, in this one table, so no handler ever picks a status code by hand.
import { status as Status } from '@grpc/grpc-js';

export const REASONS = {
  // generic
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  UNAUTHENTICATED: Status.UNAUTHENTICATED,
  NOT_FOUND: Status.NOT_FOUND,
  PAYLOAD_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: Status.UNAVAILABLE,
  INTERNAL: Status.INTERNAL,
  UNIMPLEMENTED: Status.UNIMPLEMENTED,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
  ADMIN_ONLY: Status.PERMISSION_DENIED,
  // waiting room
  QUEUE_TOKEN_REQUIRED: Status.UNAUTHENTICATED,
  QUEUE_TOKEN_INVALID: Status.UNAUTHENTICATED,
  QUEUE_TOKEN_EXPIRED: Status.UNAUTHENTICATED,
  QUEUE_TOKEN_NOT_ACTIVE: Status.PERMISSION_DENIED,
  QUEUE_TOKEN_USER_MISMATCH: Status.PERMISSION_DENIED,
  // catalog
  CONCERT_NOT_FOUND: Status.NOT_FOUND,
  SCHEDULE_NOT_FOUND: Status.NOT_FOUND,
  SEAT_NOT_FOUND: Status.NOT_FOUND,
  BOOKING_CLOSED: Status.FAILED_PRECONDITION,
  SEAT_UNAVAILABLE: Status.ABORTED,
  // reservations and payments
  RESERVATION_NOT_FOUND: Status.NOT_FOUND,
  NOT_RESERVATION_OWNER: Status.PERMISSION_DENIED,
  RESERVATION_ALREADY_PAID: Status.ALREADY_EXISTS,
  RESERVATION_EXPIRED: Status.FAILED_PRECONDITION,
  RESERVATION_CANCELLED: Status.FAILED_PRECONDITION,
  PAYMENT_ALREADY_REFUNDED: Status.ALREADY_EXISTS,
  IDEMPOTENCY_KEY_REUSED: Status.ABORTED,
  IDEMPOTENCY_KEY_IN_PROGRESS: Status.ABORTED,
  // points
  USER_MISMATCH: Status.PERMISSION_DENIED,
  INVALID_AMOUNT: Status.INVALID_ARGUMENT,
  BALANCE_LIMIT_EXCEEDED: Status.FAILED_PRECONDITION,
  INSUFFICIENT_POINTS: Status.FAILED_PRECONDITION,
  // transactions
  TRANSACTION_NOT_FOUND: Status.NOT_FOUND,
  TRANSACTION_ENDED: Status.FAILED_PRECONDITION,
  TRANSACTION_STATE_CHANGED: Status.ABORTED,
  TRANSACTION_NOT_IN_DOUBT: Status.FAILED_PRECONDITION,
  BRANCH_REFUSED: Status.ABORTED,
  // operations
  PARKED_EVENT_NOT_FOUND: Status.NOT_FOUND,
} as const;

export type Reason = keyof typeof REASONS;

/** A rule of the domain said no. Safe to show to the client as is. */
export class DomainError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get code(): Status {
    return REASONS[this.reason];
  }
}

/** For an RPC whose contract exists but whose body a later issue fills in. */
export function notYetImplemented(rpc: string): DomainError {
  return new DomainError('UNIMPLEMENTED', `${rpc} is not implemented yet`);
}

export function invalidArgument(field: string, message: string): DomainError {
  return new DomainError('INVALID_ARGUMENT', message, { field });
}

/** The reason used when an error carries none: the generic one for its gRPC code. */
export function genericReason(code: Status): Reason {
  switch (code) {
    case Status.INVALID_ARGUMENT:
    case Status.OUT_OF_RANGE:
    case Status.FAILED_PRECONDITION:
      return 'INVALID_ARGUMENT';
    case Status.UNAUTHENTICATED:
      return 'UNAUTHENTICATED';
    case Status.PERMISSION_DENIED:
      return 'PERMISSION_DENIED';
    case Status.NOT_FOUND:
      return 'NOT_FOUND';
    case Status.RESOURCE_EXHAUSTED:
      return 'RATE_LIMITED';
    case Status.UNAVAILABLE:
    case Status.DEADLINE_EXCEEDED:
    case Status.CANCELLED:
      return 'UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}

export function isReason(value: string): value is Reason {
  return Object.prototype.hasOwnProperty.call(REASONS, value);
}
