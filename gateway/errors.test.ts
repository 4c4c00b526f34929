import { expect } from 'chai';
import { Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { DomainError } from '../lib/errors';
import { statusError } from '../lib/grpc/status';
import {
  ApiError,
  errorBody,
  fromServiceError,
  httpStatusFor,
  methodNotAllowed,
  payloadTooLarge,
  toApiError,
  unauthenticated,
} from './errors';

function serviceError(partial: Partial<ServiceError>): ServiceError {
  const err: ServiceError = Object.assign(new Error(partial.details ?? ''), {
    code: Status.UNKNOWN,
    details: '',
    metadata: new Metadata(),
    ...partial,
  });
  return err;
}

describe('gateway errors', () => {
  it('maps every gRPC code by the canonical table', () => {
    const table: [Status, number][] = [
      [Status.INVALID_ARGUMENT, 400],
      [Status.FAILED_PRECONDITION, 400],
      [Status.OUT_OF_RANGE, 400],
      [Status.UNAUTHENTICATED, 401],
      [Status.PERMISSION_DENIED, 403],
      [Status.NOT_FOUND, 404],
      [Status.ALREADY_EXISTS, 409],
      [Status.ABORTED, 409],
      [Status.RESOURCE_EXHAUSTED, 429],
      [Status.CANCELLED, 499],
      [Status.UNIMPLEMENTED, 501],
      [Status.UNAVAILABLE, 503],
      [Status.DEADLINE_EXCEEDED, 504],
      [Status.UNKNOWN, 500],
      [Status.INTERNAL, 500],
      [Status.DATA_LOSS, 500],
      [Status.OK, 500],
    ];
    for (const [code, http] of table) expect(httpStatusFor(code), Status[code]).to.equal(http);
  });

  it('answers 413 (code 8) for PAYLOAD_TOO_LARGE', () => {
    const e = payloadTooLarge(65536);
    expect([e.httpStatus, e.code, e.reason]).to.deep.equal([413, 8, 'PAYLOAD_TOO_LARGE']);
    expect(httpStatusFor(Status.RESOURCE_EXHAUSTED, 'RATE_LIMITED')).to.equal(429);
  });

  it('writes the google.rpc.Status body', () => {
    const body = errorBody(
      new ApiError(Status.ABORTED, 'SEAT_UNAVAILABLE', 'seat 7 is held', { seat: '7' }),
    );
    expect(body).to.deep.equal({
      code: 10,
      message: 'seat 7 is held',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'SEAT_UNAVAILABLE',
          domain: 'boxoffice',
          metadata: { seat: '7' },
        },
      ],
    });
  });

  it("keeps a service's code, message, reason and metadata", () => {
    const err = serviceError(
      statusError({
        code: Status.FAILED_PRECONDITION,
        message: 'not enough points',
        reason: 'INSUFFICIENT_POINTS',
        metadata: { need: '5' },
      }),
    );
    const e = fromServiceError(err);
    expect([e.httpStatus, e.code, e.reason, e.message, e.metadata]).to.deep.equal([
      400,
      9,
      'INSUFFICIENT_POINTS',
      'not enough points',
      { need: '5' },
    ]);
  });

  it('never leaks internals of a 500', () => {
    const withInfo = serviceError(
      statusError({
        code: Status.INTERNAL,
        message: "ER_NO_SUCH_TABLE: Table 'x' doesn't exist",
        reason: 'INTERNAL',
        metadata: { sql: 'SELECT' },
      }),
    );
    const bare = serviceError({
      code: Status.UNKNOWN,
      details: 'TypeError: at /app/services/x.ts:12',
    });
    for (const err of [withInfo, bare]) {
      const { error, internal } = toApiError(err);
      expect(internal).to.equal(true);
      expect(errorBody(error)).to.deep.equal({
        code: 13,
        message: 'internal error',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'INTERNAL',
            domain: 'boxoffice',
            metadata: {},
          },
        ],
      });
    }
    expect(toApiError(new Error('boom')).error.message).to.equal('internal error');
    expect(toApiError(new DomainError('INTERNAL', 'db password is x')).error.message).to.equal(
      'internal error',
    );
  });

  it('gives transport errors a generic reason and a message without addresses', () => {
    const e = fromServiceError(
      serviceError({
        code: Status.UNAVAILABLE,
        details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50055',
      }),
    );
    expect([e.httpStatus, e.reason]).to.deep.equal([503, 'UNAVAILABLE']);
    expect(e.message).not.to.match(/127\.0\.0\.1|ECONNREFUSED/);
    expect(
      fromServiceError(
        serviceError({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded after 5.001s' }),
      ),
    ).to.include({
      httpStatus: 504,
      reason: 'UNAVAILABLE',
    });
  });

  it('passes domain errors through with their reason', () => {
    const { error, internal } = toApiError(new DomainError('USER_MISMATCH', 'not yours'));
    expect(internal).to.equal(false);
    expect([error.httpStatus, error.code, error.reason]).to.deep.equal([403, 7, 'USER_MISMATCH']);
  });

  it('answers 405 with Allow, code 12 and reason NOT_FOUND', () => {
    const e = methodNotAllowed('DELETE', ['GET', 'POST']);
    expect([e.httpStatus, e.code, e.reason, e.headers]).to.deep.equal([
      405,
      12,
      'NOT_FOUND',
      { Allow: 'GET, POST' },
    ]);
  });

  it('puts a Bearer challenge on 401s', () => {
    expect(unauthenticated('UNAUTHENTICATED', 'x').headers['WWW-Authenticate']).to.equal(
      'Bearer realm="boxoffice"',
    );
    expect(unauthenticated('UNAUTHENTICATED', 'x', true).headers['WWW-Authenticate']).to.equal(
      'Bearer realm="boxoffice", error="invalid_token"',
    );
  });
});
