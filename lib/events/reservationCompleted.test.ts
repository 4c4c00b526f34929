import { expect } from 'chai';
import type { EventEnvelope } from './envelope';
import {
  InvalidEventError,
  RESERVATION_COMPLETED,
  parseReservationCompleted,
} from './reservationCompleted';

const PAYLOAD = {
  reservationId: 'r1',
  paymentId: 'p1',
  userId: 'u1',
  concertId: 'c1',
  scheduleId: 's1',
  date: '2031-02-01',
  seatNumber: 7,
  amount: 8000,
};

const event = (fields: Partial<EventEnvelope> = {}, payload: object = {}): EventEnvelope => ({
  eventId: '01kaf0b5v6w7x8y9z0a1b2c3d4',
  type: RESERVATION_COMPLETED,
  version: 1,
  occurredAt: '2031-02-01T10:00:00.000Z',
  aggregateId: 'r1',
  ...fields,
  payload: { ...PAYLOAD, ...payload },
});

function refusal(e: EventEnvelope): string {
  try {
    parseReservationCompleted(e);
  } catch (err) {
    expect(err).to.be.instanceOf(InvalidEventError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('ReservationCompleted v1', () => {
  it('reads the payload fields, and only those', () => {
    expect(parseReservationCompleted(event({}, { extra: true }))).to.deep.equal(PAYLOAD);
  });

  it('refuses another type or version, a bad event id or instant', () => {
    expect(refusal(event({ type: 'ReservationExpired' }))).to.match(/unexpected type/);
    expect(refusal(event({ version: 2 }))).to.match(/unsupported version 2/);
    expect(refusal(event({ eventId: 'x'.repeat(27) }))).to.match(/eventId/);
    expect(refusal(event({ occurredAt: 'yesterday' }))).to.match(/occurredAt/);
  });

  it('refuses a payload field missing or of the wrong shape', () => {
    const bad: [string, unknown][] = [
      ['userId', undefined],
      ['scheduleId', ''],
      ['paymentId', null],
      ['date', '1.2.2031'],
      ['seatNumber', 0],
      ['seatNumber', '7'],
      ['amount', -1],
      ['amount', 1.5],
    ];
    for (const [field, value] of bad) {
      expect(refusal(event({}, { [field]: value })), `${field}=${String(value)}`).to.include(field);
    }
  });
});
