import { expect } from 'chai';
import { ChargeRequest } from '../gen/boxoffice/point/v1/point';
import { GetRankingRequest } from '../gen/boxoffice/concert/v1/concert';
import { loadProtos } from '../lib/grpc/protos';
import { ApiError } from './errors';
import { buildRoutes, Router, type Route } from './routes';
import { encodeRequest, requestFromHttp, responseToJson } from './transcode';

const routes = buildRoutes(loadProtos());
const router = new Router(routes);

function route(rpc: string): Route {
  const r = routes.find((x) => x.rpc === rpc);
  if (!r) throw new Error(`no route ${rpc}`);
  return r;
}

/** Transcodes an HTTP request the way the server does. */
function request(method: string, target: string, body?: string): Record<string, unknown> {
  const [path, search = ''] = target.split('?');
  const m = router.match(method, path);
  if (m.kind !== 'found') throw new Error(`no match for ${method} ${target}`);
  return requestFromHttp(m.route, {
    params: m.params,
    query: new URLSearchParams(search),
    body: m.route.body === undefined ? undefined : Buffer.from(body ?? ''),
  });
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ApiError);
    const e = err as ApiError;
    expect(e.httpStatus).to.equal(400);
    expect(e.reason).to.equal('INVALID_ARGUMENT');
    return e;
  }
  throw new Error('expected a 400');
}

/** The field a 400 names. */
function badField(method: string, target: string, body?: string): string | undefined {
  return refusal(() => request(method, target, body)).metadata.field;
}

describe('gateway transcoding', () => {
  describe('request bodies', () => {
    it('reads JSON names and proto names', () => {
      expect(
        request('POST', '/api/v1/points/charge', '{"userId":"u1","amount":100}'),
      ).to.deep.equal({ user_id: 'u1', amount: 100 });
      expect(
        request('POST', '/api/v1/points/charge', '{"user_id":"u1","amount":100}'),
      ).to.deep.equal({ user_id: 'u1', amount: 100 });
    });

    it('accepts 64-bit integers as numbers or decimal strings', () => {
      expect(request('POST', '/api/v1/points/charge', '{"amount":"250"}')).to.deep.equal({
        amount: 250,
      });
      expect(request('POST', '/api/v1/points/charge', '{"amount":-5}')).to.deep.equal({
        amount: -5,
      });
      expect(
        request('POST', '/api/v1/points/charge', `{"amount":${Number.MAX_SAFE_INTEGER}}`),
      ).to.deep.equal({
        amount: Number.MAX_SAFE_INTEGER,
      });
    });

    it('encodes what the service decodes', () => {
      const bytes = encodeRequest(
        route('Charge').requestType,
        request('POST', '/api/v1/points/charge', '{"amount":"7"}'),
      );
      expect(ChargeRequest.decode(bytes)).to.deep.equal({ userId: '', amount: 7 });
    });

    it('treats an empty body as {} (then required fields are missing)', () => {
      expect(request('POST', '/api/v1/queue/tokens', '')).to.deep.equal({});
      expect(request('POST', '/api/v1/queue/tokens', '  \n')).to.deep.equal({});
      expect(badField('POST', '/api/v1/points/charge', '')).to.equal('amount');
    });

    it('refuses malformed JSON, invalid UTF-8 and non-object bodies as field "body"', () => {
      expect(badField('POST', '/api/v1/points/charge', '{"amount":')).to.equal('body');
      expect(badField('POST', '/api/v1/points/charge', '[1]')).to.equal('body');
      expect(badField('POST', '/api/v1/points/charge', 'null')).to.equal('body');
      expect(badField('POST', '/api/v1/points/charge', '"x"')).to.equal('body');
      const m = router.match('POST', '/api/v1/points/charge');
      if (m.kind !== 'found') throw new Error('no route');
      const e = refusal(() =>
        requestFromHttp(m.route, {
          params: m.params,
          query: new URLSearchParams(),
          body: Buffer.from([0x7b, 0xff, 0x7d]),
        }),
      );
      expect(e.metadata.field).to.equal('body');
    });

    it('refuses unknown fields, naming them', () => {
      expect(badField('POST', '/api/v1/points/charge', '{"amount":1,"bonus":2}')).to.equal('bonus');
      expect(badField('POST', '/api/v1/points/charge', '{"amount":1,"__proto__":{}}')).to.equal(
        '__proto__',
      );
      // A path-bound field is not part of the body.
      expect(badField('POST', '/api/v1/payments/p1/refund', '{"paymentId":"p2"}')).to.equal(
        'paymentId',
      );
    });

    it('refuses a field given twice under both names', () => {
      expect(
        badField('POST', '/api/v1/points/charge', '{"amount":1,"userId":"a","user_id":"a"}'),
      ).to.equal('user_id');
    });

    it('refuses wrong JSON types, naming the field', () => {
      const cases: [string, string][] = [
        ['{"amount":"abc"}', 'amount'],
        ['{"amount":"1e3"}', 'amount'],
        ['{"amount":1.5}', 'amount'],
        ['{"amount":true}', 'amount'],
        ['{"amount":{}}', 'amount'],
        [`{"amount":${2 ** 53}}`, 'amount'],
        ['{"amount":1,"userId":5}', 'userId'],
        ['{"amount":1,"userId":["u1"]}', 'userId'],
      ];
      for (const [body, field] of cases)
        expect(badField('POST', '/api/v1/points/charge', body), body).to.equal(field);
    });

    it('wants JSON numbers for 32-bit integers, arrays for repeated fields, strings for strings', () => {
      const ok = '"title":"t","price":100';
      expect(badField('POST', '/api/v1/admin/concerts', `{${ok},"dates":"2026-12-24"}`)).to.equal(
        'dates',
      );
      expect(badField('POST', '/api/v1/admin/concerts', `{${ok},"dates":[20261224]}`)).to.equal(
        'dates',
      );
      expect(badField('POST', '/api/v1/admin/concerts', `{${ok},"dates":[null]}`)).to.equal(
        'dates',
      );
      expect(
        badField(
          'POST',
          '/api/v1/admin/concerts',
          `{${ok},"dates":["2026-12-24"],"seatsPerDate":"50"}`,
        ),
      ).to.equal('seatsPerDate');
      expect(
        badField(
          'POST',
          '/api/v1/admin/concerts',
          `{${ok},"dates":["2026-12-24"],"seatsPerDate":4294967296}`,
        ),
      ).to.equal('seatsPerDate');
      expect(
        badField('POST', '/api/v1/reservations', '{"concertId":"c","date":"d","seatNumber":"7"}'),
      ).to.equal('seatNumber');
      expect(
        request(
          'POST',
          '/api/v1/admin/concerts',
          `{${ok},"dates":["2026-12-24"],"seatsPerDate":50,"bookingOpensAt":null}`,
        ),
      ).to.deep.equal({ title: 't', price: 100, dates: ['2026-12-24'], seats_per_date: 50 });
    });

    it('refuses missing REQUIRED fields (null counts as missing), naming them', () => {
      expect(
        badField('POST', '/api/v1/admin/concerts', '{"dates":["2026-12-24"],"price":1}'),
      ).to.equal('title');
      expect(badField('POST', '/api/v1/admin/concerts', '{"title":"t","price":1}')).to.equal(
        'dates',
      );
      expect(badField('POST', '/api/v1/points/charge', '{"amount":null}')).to.equal('amount');
      expect(badField('POST', '/api/v1/reservations', '{"concertId":"c","date":"d"}')).to.equal(
        'seatNumber',
      );
      expect(badField('POST', '/api/v1/payments', '{}')).to.equal('reservationId');
      // Present but out of range is the service's to refuse, with its own reason.
      expect(request('POST', '/api/v1/points/charge', '{"amount":0}')).to.deep.equal({ amount: 0 });
    });
  });

  describe('path and query', () => {
    it('fills path variables', () => {
      expect(request('POST', '/api/v1/payments/p%2F1/refund', '{}')).to.deep.equal({
        payment_id: 'p/1',
      });
      expect(request('GET', '/api/v1/concerts/c1/dates/2026-12-24/seats')).to.deep.equal({
        concert_id: 'c1',
        date: '2026-12-24',
      });
    });

    it('reads typed query parameters', () => {
      expect(request('GET', '/api/v1/points/u1/history?limit=10')).to.deep.equal({
        user_id: 'u1',
        limit: 10,
      });
      expect(request('GET', '/api/v1/points/u1/history')).to.deep.equal({ user_id: 'u1' });
      const bytes = encodeRequest(
        route('GetRanking').requestType,
        request('GET', '/api/v1/concerts/ranking?limit=0'),
      );
      expect(GetRankingRequest.decode(bytes)).to.deep.equal({ limit: 0 });
      const none = encodeRequest(
        route('GetRanking').requestType,
        request('GET', '/api/v1/concerts/ranking'),
      );
      expect(GetRankingRequest.decode(none).limit).to.equal(undefined);
    });

    it('refuses bad query parameters, naming them', () => {
      expect(badField('GET', '/api/v1/points/u1/history?limit=ten')).to.equal('limit');
      expect(badField('GET', '/api/v1/points/u1/history?limit=1.5')).to.equal('limit');
      expect(badField('GET', '/api/v1/points/u1/history?limit=')).to.equal('limit');
      expect(badField('GET', '/api/v1/points/u1/history?limit=1&limit=2')).to.equal('limit');
      expect(badField('GET', '/api/v1/points/u1/history?offset=3')).to.equal('offset');
      expect(badField('GET', '/api/v1/points/u1/history?userId=u2')).to.equal('userId');
      expect(badField('GET', '/api/v1/concerts/ranking?limit=99999999999')).to.equal('limit');
      // Body "*" takes every field from the body.
      expect(badField('POST', '/api/v1/points/charge?amount=5', '{"amount":5}')).to.equal('amount');
    });
  });

  describe('responses', () => {
    function answer(rpc: string, value: Record<string, unknown>): unknown {
      const type = route(rpc).responseType;
      return responseToJson(route(rpc), type.encode(type.fromObject(value)).finish());
    }

    it('emits lowerCamelCase, enum names and 64-bit integers as numbers', () => {
      expect(
        answer('ListSeats', {
          schedule_id: 's1',
          seats: [
            {
              seat_id: 'x',
              seat_number: 7,
              price: 2 ** 40,
              status: 3,
            },
          ],
        }),
      ).to.deep.equal({
        scheduleId: 's1',
        seats: [{ seatId: 'x', seatNumber: 7, price: 2 ** 40, status: 'SOLD' }],
      });
    });

    it('emits defaults of plain fields and empty lists', () => {
      expect(answer('ListSeats', {})).to.deep.equal({ scheduleId: '', seats: [] });
      expect(answer('IssueToken', { token: 't', status: 2 })).to.deep.equal({
        token: 't',
        status: 'ACTIVE',
        position: 0,
        expiresAt: '',
      });
      expect(answer('GetHistory', { entries: [{ type: 1, amount: 5 }] })).to.deep.equal({
        entries: [{ type: 'CHARGE', amount: 5, balanceAfter: 0, reference: '', at: '' }],
      });
    });

    it('answers the response_body field and omits unset optional fields', () => {
      const reservation = {
        reservation_id: 'r1',
        concert_id: 'c1',
        schedule_id: 's1',
        date: '2026-12-24',
        seat_number: 7,
        price: 10000,
        status: 1,
        expires_at: '2026-12-24T19:05:00Z',
      };
      const expected = {
        reservationId: 'r1',
        concertId: 'c1',
        scheduleId: 's1',
        date: '2026-12-24',
        seatNumber: 7,
        price: 10000,
        status: 'HELD',
        expiresAt: '2026-12-24T19:05:00Z',
      };
      expect(answer('Reserve', { reservation })).to.deep.equal(expected);
      expect(
        answer('GetReservation', { reservation: { ...reservation, status: 2, payment_id: 'p1' } }),
      ).to.deep.equal({
        ...expected,
        status: 'CONFIRMED',
        paymentId: 'p1',
      });
      // An empty optional string is still "set".
      expect(answer('GetReservation', { reservation: { payment_id: '' } })).to.have.property(
        'paymentId',
        '',
      );
      // An unset response_body message still answers an object.
      expect(answer('Reserve', {})).to.include({
        reservationId: '',
        seatNumber: 0,
        status: 'RESERVATION_STATUS_UNSPECIFIED',
      });
    });
  });
});
