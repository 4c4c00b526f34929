import { expect } from 'chai';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { DomainError } from '../../lib/errors';
import { statusError } from '../../lib/grpc/status';
import { backoffDelay, classify } from './calls';

function remote(code: Status, reason: string) {
  return Object.assign(
    new Error(reason),
    statusError({ code, message: reason, reason, metadata: {} }),
    {
      metadata:
        statusError({ code, message: reason, reason, metadata: {} }).metadata ?? new Metadata(),
    },
  );
}

describe('branch result protocol', () => {
  it('treats OK as done', async () => {
    expect(await classify(async () => 7)).to.deep.equal({ kind: 'done', value: 7 });
  });

  it('treats business statuses as refusals and keeps their reason', async () => {
    for (const [code, reason] of [
      [Status.FAILED_PRECONDITION, 'INSUFFICIENT_POINTS'],
      [Status.ALREADY_EXISTS, 'RESERVATION_ALREADY_PAID'],
      [Status.ABORTED, 'SEAT_UNAVAILABLE'],
      [Status.NOT_FOUND, 'RESERVATION_NOT_FOUND'],
      [Status.PERMISSION_DENIED, 'NOT_RESERVATION_OWNER'],
      [Status.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    ] as const) {
      const r = await classify(async () => {
        throw remote(code, reason);
      });
      expect(r.kind, reason).to.equal('refused');
      expect((r as { error: DomainError }).error.reason).to.equal(reason);
    }
  });

  it('treats transport and server failures as unknown', async () => {
    for (const code of [
      Status.UNAVAILABLE,
      Status.DEADLINE_EXCEEDED,
      Status.INTERNAL,
      Status.UNKNOWN,
      Status.RESOURCE_EXHAUSTED,
    ]) {
      const r = await classify(async () => {
        throw remote(code, 'x');
      });
      expect(r.kind, Status[code]).to.equal('unknown');
    }
    expect((await classify(async () => Promise.reject(new Error('boom')))).kind).to.equal(
      'unknown',
    );
  });

  it('backs off exponentially up to a cap, with full jitter', () => {
    const b = { baseMs: 50, capMs: 2000 };
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, b, () => 0.999999))).to.deep.equal([
      49, 99, 199, 399, 1999,
    ]);
    expect(backoffDelay(5, b, () => 0)).to.equal(0);
  });
});
