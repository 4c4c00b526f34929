import { expect } from 'chai';
import { DomainError } from '../lib/errors';
import { assertReserveRequest, listLimit } from './requests';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.metadata.field : 'not a DomainError';
  }
  return undefined;
}

describe('coordinator requests', () => {
  it('validates a reserve request field by field', () => {
    expect(
      fieldOf(() => assertReserveRequest({ concertId: 'c', date: '2026-12-24', seatNumber: 1 })),
    ).to.equal(undefined);
    expect(
      fieldOf(() => assertReserveRequest({ concertId: '', date: '2026-12-24', seatNumber: 1 })),
    ).to.equal('concertId');
    expect(
      fieldOf(() => assertReserveRequest({ concertId: 'c', date: '24.12.2026', seatNumber: 1 })),
    ).to.equal('date');
    expect(
      fieldOf(() => assertReserveRequest({ concertId: 'c', date: '2026-12-24', seatNumber: 0 })),
    ).to.equal('seatNumber');
  });

  it('bounds list limits', () => {
    expect(listLimit(0)).to.equal(50);
    expect(fieldOf(() => listLimit(501))).to.equal('limit');
  });
});
