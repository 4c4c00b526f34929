import { expect } from 'chai';
import * as protobuf from 'protobufjs';
import { jsonName } from './descriptors';
import { loadProtos } from '../lib/grpc/protos';
import { buildRoutes, Router, type Route } from './routes';

// The routes of docs/api.md, as its route table writes them: method, path, policy, success status.
const API_ROUTES: [
  string,
  string,
  string,
  'PUBLIC' | 'USER' | 'ADMIN',
  'NONE' | 'PRESENT' | 'ACTIVE',
  number,
][] = [
  ['POST', '/api/v1/admin/concerts', 'ConcertService/CreateConcert', 'ADMIN', 'NONE', 201],
  ['POST', '/api/v1/queue/tokens', 'QueueService/IssueToken', 'USER', 'NONE', 201],
  ['GET', '/api/v1/queue/status', 'QueueService/GetStatus', 'USER', 'PRESENT', 200],
  ['GET', '/api/v1/concerts', 'ConcertService/ListConcerts', 'PUBLIC', 'NONE', 200],
  ['GET', '/api/v1/concerts/{concertId}/dates', 'ConcertService/ListDates', 'USER', 'ACTIVE', 200],
  [
    'GET',
    '/api/v1/concerts/{concertId}/dates/{date}/seats',
    'ConcertService/ListSeats',
    'USER',
    'ACTIVE',
    200,
  ],
  ['GET', '/api/v1/concerts/ranking', 'ConcertService/GetRanking', 'PUBLIC', 'NONE', 200],
  ['POST', '/api/v1/reservations', 'CoordinatorService/Reserve', 'USER', 'ACTIVE', 201],
  [
    'GET',
    '/api/v1/reservations/{reservationId}',
    'ReservationService/GetReservation',
    'USER',
    'NONE',
    200,
  ],
  ['POST', '/api/v1/payments', 'CoordinatorService/Pay', 'USER', 'ACTIVE', 201],
  ['POST', '/api/v1/payments/{paymentId}/refund', 'CoordinatorService/Refund', 'USER', 'NONE', 200],
  ['POST', '/api/v1/points/charge', 'PointService/Charge', 'USER', 'NONE', 200],
  ['GET', '/api/v1/points/{userId}', 'PointService/GetBalance', 'USER', 'NONE', 200],
  ['GET', '/api/v1/points/{userId}/history', 'PointService/GetHistory', 'USER', 'NONE', 200],
  // Operators.
  [
    'GET',
    '/api/v1/admin/transactions',
    'CoordinatorService/ListTransactions',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'GET',
    '/api/v1/admin/transactions/{gid}',
    'CoordinatorService/GetTransaction',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'POST',
    '/api/v1/admin/transactions/{gid}/retry',
    'CoordinatorService/RetryTransaction',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'POST',
    '/api/v1/admin/transactions/{gid}/decide',
    'CoordinatorService/DecideTransaction',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'GET',
    '/api/v1/admin/operator-actions',
    'CoordinatorService/ListOperatorActions',
    'ADMIN',
    'NONE',
    200,
  ],
  ['GET', '/api/v1/admin/parked-events', 'OpsService/ListParked', 'ADMIN', 'NONE', 200],
  [
    'POST',
    '/api/v1/admin/parked-events/{queue}/replay',
    'OpsService/ReplayParked',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'POST',
    '/api/v1/admin/parked-events/{queue}/drop',
    'OpsService/DropParked',
    'ADMIN',
    'NONE',
    200,
  ],
  ['GET', '/api/v1/admin/invariants', 'OpsService/RunAudit', 'ADMIN', 'NONE', 200],
  [
    'GET',
    '/api/v1/admin/concerts/{concertId}/seat-map',
    'ConcertService/GetSeatMap',
    'ADMIN',
    'NONE',
    200,
  ],
  [
    'GET',
    '/api/v1/admin/schedules/{scheduleId}/holds',
    'ReservationService/ListHolds',
    'ADMIN',
    'NONE',
    200,
  ],
];

function apiPath(r: Route): string {
  return `/${r.segments.map((s) => (s.kind === 'literal' ? s.value : `{${jsonName(s.field)}}`)).join('/')}`;
}

describe('gateway routes', () => {
  const routes = buildRoutes(loadProtos());
  const router = new Router(routes);

  it('derives exactly the routes of docs/api.md, with their methods and policies', () => {
    const got = routes.map((r) => [
      r.httpMethod,
      apiPath(r),
      r.grpcPath.replace(/^\/boxoffice\.\w+\.v1\./, ''),
      r.policy.audience,
      r.policy.queueToken,
      r.policy.successStatus,
    ]);
    expect(got).to.have.deep.members(API_ROUTES);
    expect(got).to.have.length(API_ROUTES.length);
  });

  it('maps each service package to its config target key', () => {
    const services = new Set(routes.map((r) => r.service));
    expect([...services].sort()).to.deep.equal([
      'concert',
      'coordinator',
      'ops',
      'point',
      'queue',
      'reservation',
    ]);
    const reserve = routes.find((r) => r.rpc === 'Reserve')!;
    expect(reserve.service).to.equal('coordinator');
    expect(reserve.grpcPath).to.equal('/boxoffice.coordinator.v1.CoordinatorService/Reserve');
    expect(reserve.body).to.equal('*');
    expect(reserve.responseBody).to.equal('reservation');
  });

  it('prefers a literal segment over a variable', () => {
    const m = router.match('GET', '/api/v1/concerts/ranking');
    expect(m.kind).to.equal('found');
    if (m.kind === 'found') expect(m.route.rpc).to.equal('GetRanking');
    const d = router.match('GET', '/api/v1/concerts/c1/dates');
    expect(d.kind).to.equal('found');
    if (d.kind === 'found') {
      expect(d.route.rpc).to.equal('ListDates');
      expect([...d.params].map(([f, v]) => [f.name, v])).to.deep.equal([['concert_id', 'c1']]);
    }
  });

  it('binds several variables and percent-decodes them', () => {
    const m = router.match('GET', '/api/v1/concerts/c%201/dates/2026-12-24/seats');
    expect(m.kind).to.equal('found');
    if (m.kind === 'found') {
      expect(m.route.rpc).to.equal('ListSeats');
      expect(Object.fromEntries([...m.params].map(([f, v]) => [f.name, v]))).to.deep.equal({
        concert_id: 'c 1',
        date: '2026-12-24',
      });
    }
    expect(router.match('GET', '/api/v1/points/%E0%A4%A')).to.include({ kind: 'bad_path' });
  });

  it('answers 405 data for a known path with another method', () => {
    expect(router.match('POST', '/api/v1/concerts/ranking')).to.deep.equal({
      kind: 'method_not_allowed',
      allow: ['GET'],
    });
    expect(router.match('DELETE', '/api/v1/reservations')).to.deep.equal({
      kind: 'method_not_allowed',
      allow: ['POST'],
    });
    expect(router.match('PUT', '/api/v1/points/u1')).to.deep.equal({
      kind: 'method_not_allowed',
      allow: ['GET'],
    });
  });

  it('does not match unknown, empty-segment or trailing-slash paths', () => {
    for (const p of [
      '/',
      '/api/v1',
      '/api/v1/concerts/',
      '/api/v1//dates',
      '/api/v1/points/u1/history/x',
      '/nope',
    ]) {
      expect(router.match('GET', p), p).to.deep.equal({ kind: 'not_found' });
    }
  });

  describe('start-up checks', () => {
    function build(body: string): () => Route[] {
      return () => {
        const root = loadProtos([
          'boxoffice/options/v1/route.proto',
          'google/api/annotations.proto',
          'google/api/field_behavior.proto',
        ]);
        protobuf.parse(
          `syntax = "proto3"; package boxoffice.test.v1;
           import "boxoffice/options/v1/route.proto"; import "google/api/annotations.proto";
           message Req { string id = 1; repeated string tags = 2; } message Res {}
           service TestService { ${body} }`,
          root,
          { keepCase: true },
        );
        root.resolveAll();
        return buildRoutes(root);
      };
    }
    const policy = 'option (boxoffice.options.v1.route) = { audience: USER queue_token: NONE };';

    it('accepts a well-formed route', () => {
      const routes = build(
        `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t/{id}" }; ${policy} }`,
      )();
      expect(routes.map((r) => [r.httpMethod, r.template, r.service])).to.deep.equal([
        ['GET', '/t/{id}', 'test'],
      ]);
    });

    it('refuses a route without a policy', () => {
      expect(
        build('rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t" }; }'),
      ).to.throw(/route/);
    });

    it('lets only an ACTIVE route name a request field for repeat_after_payment', () => {
      const route = (opts: string) =>
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { post: "/t" body: "*" }; option (boxoffice.options.v1.route) = { audience: USER ${opts} }; }`,
        );
      expect(route('queue_token: ACTIVE repeat_after_payment: "id"')()[0].policy).to.include({
        repeatAfterPayment: 'id',
      });
      expect(route('queue_token: ACTIVE repeat_after_payment: "nope"')).to.throw(/names no field/);
      expect(route('queue_token: NONE repeat_after_payment: "id"')).to.throw(/ACTIVE route only/);
    });

    it('refuses a public route that needs a queue token', () => {
      expect(
        build(
          'rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t" }; option (boxoffice.options.v1.route) = { audience: PUBLIC queue_token: ACTIVE }; }',
        ),
      ).to.throw(/PUBLIC/);
    });

    it('refuses unsupported templates and variables', () => {
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t/{id=**}" }; ${policy} }`,
        ),
      ).to.throw(/unsupported/);
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t:verb" }; ${policy} }`,
        ),
      ).to.throw(/unsupported/);
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t/{nope}" }; ${policy} }`,
        ),
      ).to.throw(/not a field/);
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t/{tags}" }; ${policy} }`,
        ),
      ).to.throw(/singular/);
    });

    it('refuses two routes that bind the same method and shape', () => {
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { get: "/t/{id}" }; ${policy} }
           rpc B(Req) returns (Res) { option (google.api.http) = { get: "/t/{id}" }; ${policy} }`,
        ),
      ).to.throw(/ambiguous/);
    });

    it('checks body and response_body fields', () => {
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { post: "/t" body: "nope" }; ${policy} }`,
        ),
      ).to.throw(/body field/);
      expect(
        build(
          `rpc A(Req) returns (Res) { option (google.api.http) = { post: "/t" body: "*" response_body: "x" }; ${policy} }`,
        ),
      ).to.throw(/response_body/);
    });
  });
});
