import { expect } from 'chai';
import type { EventEnvelope } from '../../../lib/events/envelope';
import { InvalidEventError } from '../../../lib/events/reservationCompleted';
import { classifyError, classifyStatus, deliveryBody } from './delivery';

const event = (
  payload: Record<string, unknown> = {},
  over: Partial<EventEnvelope> = {},
): EventEnvelope => ({
  eventId: '01knrq5w3b4v0f8c2x9y7z6a5d',
  type: 'ReservationCompleted',
  version: 1,
  occurredAt: '2026-11-21T06:12:47.123Z',
  aggregateId: 'r1',
  payload: {
    reservationId: 'r1',
    paymentId: 'p1',
    userId: 'u1',
    concertId: 'c1',
    scheduleId: 's1',
    date: '2026-12-24',
    seatNumber: 7,
    amount: 10000,
    ...payload,
  },
  ...over,
});

describe('data platform delivery (domain)', () => {
  describe('deliveryBody', () => {
    it('is the envelope id, type and time followed by the payload fields, in docs/api.md order', () => {
      const body = deliveryBody(event());
      expect(body).to.deep.equal({
        eventId: '01knrq5w3b4v0f8c2x9y7z6a5d',
        type: 'ReservationCompleted',
        occurredAt: '2026-11-21T06:12:47.123Z',
        reservationId: 'r1',
        paymentId: 'p1',
        userId: 'u1',
        concertId: 'c1',
        scheduleId: 's1',
        date: '2026-12-24',
        seatNumber: 7,
        amount: 10000,
      });
      expect(Object.keys(body)).to.deep.equal([
        'eventId',
        'type',
        'occurredAt',
        'reservationId',
        'paymentId',
        'userId',
        'concertId',
        'scheduleId',
        'date',
        'seatNumber',
        'amount',
      ]);
    });

    it('ships only the contract fields, not whatever else the payload carries', () => {
      expect(deliveryBody(event({ internalNote: 'x' }))).not.to.have.property('internalNote');
    });

    it('accepts a free reservation (amount 0)', () => {
      expect(deliveryBody(event({ amount: 0 })).amount).to.equal(0);
    });
  });

  // The checks themselves are lib/events/reservationCompleted.ts's; these show they apply here.
  describe('deliveryBody refuses a malformed event (it is parked, never POSTed)', () => {
    const invalid: [string, EventEnvelope, RegExp][] = [
      ['another type', event({}, { type: 'ReservationExpired' }), /unexpected type/],
      ['another version', event({}, { version: 2 }), /unsupported version 2/],
      ['an event id too long for the log', event({}, { eventId: 'x'.repeat(27) }), /eventId/],
      ['a null payment id', event({ paymentId: null }), /paymentId/],
      ['a seat as a string', event({ seatNumber: '7' }), /seatNumber/],
      ['a negative amount', event({ amount: -1 }), /amount/],
    ];
    for (const [what, e, message] of invalid) {
      it(`refuses ${what}`, () => {
        expect(() => deliveryBody(e))
          .to.throw(InvalidEventError)
          .with.property('message')
          .that.matches(message);
      });
    }
  });

  describe('classifyStatus', () => {
    it('counts every 2xx as delivered', () => {
      for (const s of [200, 201, 202, 204, 299])
        expect(classifyStatus(s)).to.deep.equal({ delivered: true, status: s });
    });

    it('retries everything else, redirects and client errors included', () => {
      for (const s of [100, 301, 304, 400, 404, 409, 429, 500, 503])
        expect(classifyStatus(s)).to.deep.equal({
          delivered: false,
          status: s,
          error: `data platform answered ${s}`,
        });
    });
  });

  describe('classifyError', () => {
    it('names a timeout by the time waited', () => {
      const timeout = Object.assign(new Error('no answer within 5000 ms'), {
        name: 'TimeoutError',
      });
      expect(classifyError(timeout, 5000)).to.deep.equal({
        delivered: false,
        error: 'no answer within 5000 ms',
      });
    });

    it('names a socket error by its code', () => {
      const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        code: 'ECONNREFUSED',
      });
      expect(classifyError(err, 5000)).to.deep.equal({
        delivered: false,
        error: 'cannot reach the data platform: ECONNREFUSED',
      });
    });

    it('falls back to the message of anything else', () => {
      expect(classifyError(new Error('socket hang up'), 5000)).to.deep.equal({
        delivered: false,
        error: 'cannot reach the data platform: socket hang up',
      });
      expect(classifyError('boom', 5000)).to.deep.equal({
        delivered: false,
        error: 'cannot reach the data platform: boom',
      });
    });
  });
});
