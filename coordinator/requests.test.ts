import { expect } from 'chai';
import { refusedField } from '../test/support/refusals';
import { assertReserveRequest, listLimit } from './requests';

describe('coordinator requests', () => {
  it('validates a reserve request field by field', () => {
    expect(
      refusedField(() =>
        assertReserveRequest({ concertId: 'c', date: '2026-12-24', seatNumber: 1 }),
      ),
    ).to.equal(undefined);
    expect(
      refusedField(() =>
        assertReserveRequest({ concertId: '', date: '2026-12-24', seatNumber: 1 }),
      ),
    ).to.equal('concertId');
    expect(
      refusedField(() =>
        assertReserveRequest({ concertId: 'c', date: '24.12.2026', seatNumber: 1 }),
      ),
    ).to.equal('date');
    expect(
      refusedField(() =>
        assertReserveRequest({ concertId: 'c', date: '2026-12-24', seatNumber: 0 }),
      ),
    ).to.equal('seatNumber');
  });

  it('bounds list limits', () => {
    expect(listLimit(0)).to.equal(50);
    expect(refusedField(() => listLimit(501))).to.equal('limit');
  });
});
