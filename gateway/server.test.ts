// The gateway over real HTTP and real gRPC, against in-process fake services (no database):
// policy enforcement, metadata forwarding, x-http-code, response_body, error passing.
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { loadConfig, type Config } from '../lib/config';
import { DomainError } from '../lib/errors';
import { Broker } from '../lib/events/broker';
import { ChannelPool } from '../lib/grpc/client';
import { bindService, GrpcServer, type CallContext } from '../lib/grpc/server';
import { Lifecycle } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import { Metrics } from '../lib/metrics/registry';
import { PROTO_FILES } from '../lib/paths';
import { ConcertServiceService, SeatStatus } from '../gen/boxoffice/concert/v1/concert';
import { CoordinatorServiceService } from '../gen/boxoffice/coordinator/v1/coordinator';
import { QueueServiceService, TokenStatus } from '../gen/boxoffice/queue/v1/queue';
import {
  ReservationServiceService,
  ReservationStatus,
} from '../gen/boxoffice/reservation/v1/reservation';
import { samplesOf, valueOf } from '../test/support/metrics';
import { signAccessToken } from './auth';
import { keysFromSecret } from '../lib/trust/keys';
import { Trust } from '../lib/trust/trust';
import { signPass } from '../lib/trust/activePass';
import { startGateway } from './main';

// Answers are checked field by field; a loose JSON type keeps the tests readable.

type Json = any;

type Handlers = Record<string, (req: never, ctx: CallContext) => Promise<unknown>>;

/** GetStatus calls that reached the fake queue service. */
let statusCalls = 0;

/** What the fakes saw, by RPC name. */
const seen = new Map<string, { req: unknown; ctx: CallContext }>();
function record(rpc: string, req: unknown, ctx: CallContext): void {
  seen.set(rpc, { req, ctx });
}

const RESERVATION = {
  reservationId: 'r1',
  concertId: 'c1',
  scheduleId: 's1',
  date: '2026-12-24',
  seatNumber: 7,
  price: 10000,
  status: ReservationStatus.HELD,
  expiresAt: '2026-12-24T19:05:00Z',
};

// Development keys: the fakes check the gateway's identity as the real services do, and the
// fake queue signs its passes as the real one does.
const trust = new Trust(keysFromSecret(loadConfig().meshSecret));
const QUEUE_KEY = trust.keys.privateKey('queue')!;

const queue: Handlers = {
  async issueToken(req, ctx) {
    record('IssueToken', req, ctx);
    if (ctx.user?.userId === 'again') ctx.setHeader('x-http-code', '200');
    return {
      token: 'tok',
      status: TokenStatus.ACTIVE,
      position: 0,
      expiresAt: '2026-12-24T19:10:00Z',
    };
  },
  async getStatus(req, ctx) {
    record('GetStatus', req, ctx);
    statusCalls++;
    return { status: TokenStatus.WAITING, position: 3, estimatedWaitSeconds: 0, expiresAt: 'x' };
  },
  async validateToken(req: { token: string }, ctx) {
    record('ValidateToken', req, ctx);
    if (req.token === 'waiting') throw new DomainError('QUEUE_TOKEN_NOT_ACTIVE', 'still waiting');
    if (req.token === 'theirs')
      throw new DomainError('QUEUE_TOKEN_USER_MISMATCH', 'not your token');
    if (req.token !== 'active') throw new DomainError('QUEUE_TOKEN_INVALID', 'unknown token');
    return { pass: signPass(QUEUE_KEY, req.token, ctx.user!.userId, Date.now() + 60_000) };
  },
};

const concert: Handlers = {
  async listConcerts(req, ctx) {
    record('ListConcerts', req, ctx);
    return { concerts: [{ concertId: 'c1', title: 'Winter' }] };
  },
  async getRanking(req, ctx) {
    record('GetRanking', req, ctx);
    return { rankings: [] };
  },
  async listSeats(req: { concertId: string; date: string }, ctx) {
    record('ListSeats', req, ctx);
    return {
      scheduleId: `${req.concertId}|${req.date}`,
      seats: [{ seatId: 'st1', seatNumber: 1, price: 2 ** 40, status: SeatStatus.SOLD }],
    };
  },
  async createConcert(req: { title: string }, ctx) {
    record('CreateConcert', req, ctx);
    return { concertId: 'c9', title: req.title, schedules: [] };
  },
};

const coordinator: Handlers = {
  async reserve(req, ctx) {
    record('Reserve', req, ctx);
    return { reservation: RESERVATION };
  },
  async pay(req: { reservationId: string }, ctx) {
    record('Pay', req, ctx);
    if (ctx.metadata.get('idempotency-key')[0] === 'repeat') ctx.setHeader('x-http-code', '200');
    return {
      paymentId: 'p1',
      reservationId: req.reservationId,
      amount: 10000,
      status: 'PAID',
      paidAt: 't',
      balance: 0,
    };
  },
  async refund(req, ctx) {
    record('Refund', req, ctx);
    throw new Error(
      "ER_PARSE_ERROR: You have an error in your SQL syntax near 'SELECT * FROM payment'",
    );
  },
};

const reservation: Handlers = {
  async getReservation(req, ctx) {
    record('GetReservation', req, ctx);
    return {
      reservation: { ...RESERVATION, status: ReservationStatus.CONFIRMED, paymentId: 'p1' },
    };
  },
};

describe('gateway server (fake services)', function () {
  this.timeout(20_000);
  const log = createLogger('silent');
  const lifecycle = new Lifecycle(log);
  let base = '';
  let config: Config;
  let user = '';
  let admin = '';
  // The gateway publishes and consumes nothing: a broker that is never connected keeps this a
  // unit test without RabbitMQ, and `after` checks that nothing opened it.
  let broker: Broker;
  const metrics = new Metrics();

  before(async () => {
    const fakes = new GrpcServer({
      name: 'fakes',
      host: '127.0.0.1',
      port: 0,
      services: [
        bindService('boxoffice.queue.v1.QueueService', QueueServiceService, queue as never),
        bindService('boxoffice.concert.v1.ConcertService', ConcertServiceService, concert as never),
        bindService(
          'boxoffice.coordinator.v1.CoordinatorService',
          CoordinatorServiceService,
          coordinator as never,
        ),
        bindService(
          'boxoffice.reservation.v1.ReservationService',
          ReservationServiceService,
          reservation as never,
        ),
      ],
      protoFiles: [
        PROTO_FILES.queue,
        PROTO_FILES.concert,
        PROTO_FILES.coordinator,
        PROTO_FILES.reservation,
      ],
      trust,
      log,
      ready: async () => true,
      // The gateway's calls to the coordinator come on a stream, as to the real one.
      mux: { callers: ['gateway'] },
    });
    lifecycle.onStop('fakes', () => fakes.stop(100));
    const target = `127.0.0.1:${await fakes.start()}`;
    config = loadConfig({
      ...process.env,
      GATEWAY_PORT: '0',
      GRPC_DEADLINE_MS: '2000',
      // The ended-token feed subscribes under a prefix of its own.
      REDIS_KEY_PREFIX: `gateway-test-${process.pid}:`,
      QUEUE_GRPC_TARGET: target,
      CONCERT_GRPC_TARGET: target,
      COORDINATOR_GRPC_TARGET: target,
      RESERVATION_GRPC_TARGET: target,
      // Nothing listens on port 1: the point service is "down".
      POINT_GRPC_TARGET: '127.0.0.1:1',
    });
    const channels = new ChannelPool(config.grpcDeadlineMs);
    lifecycle.onStop('channels', () => channels.close());
    broker = new Broker({ url: config.amqpUrl, exchange: config.events.exchange }, log);
    const port = await startGateway({ config, log, lifecycle, channels, broker, metrics, trust });
    base = `http://127.0.0.1:${port}`;
    user = await signAccessToken(config.jwtSecret, { userId: 'u1', ttlSeconds: 600 });
    admin = await signAccessToken(config.jwtSecret, {
      userId: 'boss',
      admin: true,
      ttlSeconds: 600,
    });
  });

  after(async () => {
    await lifecycle.stop();
    expect(broker.connected).to.equal(false);
    await broker.close();
  });

  async function call(
    method: string,
    path: string,
    opts: { token?: string; headers?: Record<string, string>; body?: string } = {},
  ) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, Json>) : undefined,
    };
  }

  function expectError(
    res: { status: number; body?: Record<string, Json> },
    status: number,
    reason: string,
  ): void {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.body!.details[0]).to.include({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason,
      domain: 'boxoffice',
    });
    expect(res.body).to.have.all.keys('code', 'message', 'details');
  }

  it('serves public routes without a token', async () => {
    const res = await call('GET', '/api/v1/concerts');
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(res.headers.get('x-request-id')).to.be.a('string');
    expect(res.body).to.deep.equal({ concerts: [{ concertId: 'c1', title: 'Winter' }] });
    expect(seen.get('ListConcerts')!.ctx.user).to.equal(undefined);
    expect(seen.get('ListConcerts')!.ctx.caller.service).to.equal('gateway');
  });

  it('passes query parameters, leaving unset optional fields unset', async () => {
    await call('GET', '/api/v1/concerts/ranking?limit=5');
    expect(seen.get('GetRanking')!.req).to.deep.equal({ limit: 5 });
    await call('GET', '/api/v1/concerts/ranking');
    expect(seen.get('GetRanking')!.req).to.deep.equal({ limit: undefined });
  });

  it('enforces the JWT, then the queue token, on ACTIVE routes', async () => {
    const path = '/api/v1/concerts/c1/dates/2026-12-24/seats';
    const anon = await call('GET', path);
    expectError(anon, 401, 'UNAUTHENTICATED');
    expect(anon.headers.get('www-authenticate')).to.match(/^Bearer realm="boxoffice"/);
    const noQueue = await call('GET', path, { token: user });
    expectError(noQueue, 401, 'QUEUE_TOKEN_REQUIRED');
    expect(noQueue.headers.get('www-authenticate')).to.match(/^Bearer/);
    const invalid = await call('GET', path, {
      token: user,
      headers: { 'x-queue-token': 'forged' },
    });
    expectError(invalid, 401, 'QUEUE_TOKEN_INVALID');
    expect(invalid.headers.get('www-authenticate')).to.match(/^Bearer/);
    expectError(
      await call('GET', path, { token: user, headers: { 'x-queue-token': 'waiting' } }),
      403,
      'QUEUE_TOKEN_NOT_ACTIVE',
    );
    expectError(
      await call('GET', path, { token: user, headers: { 'x-queue-token': 'theirs' } }),
      403,
      'QUEUE_TOKEN_USER_MISMATCH',
    );
    // The queue learns the user from the gateway's signed identity, not from the request.
    expect(seen.get('ValidateToken')!.req).to.deep.equal({ token: 'theirs' });
    expect(seen.get('ValidateToken')!.ctx.user).to.deep.equal({ userId: 'u1', role: 'user' });
  });

  it('calls the service with path variables, identity and queue token', async () => {
    const res = await call('GET', '/api/v1/concerts/c%201/dates/2026-12-24/seats', {
      token: user,
      headers: { 'x-queue-token': 'active' },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      scheduleId: 'c 1|2026-12-24',
      seats: [{ seatId: 'st1', seatNumber: 1, price: 2 ** 40, status: 'SOLD' }],
    });
    const { ctx } = seen.get('ListSeats')!;
    expect(ctx.user).to.deep.equal({ userId: 'u1', role: 'user' });
    expect(ctx.metadata.get('x-queue-token')).to.deep.equal(['active']);
    expect(ctx.metadata.get('x-request-id')).to.deep.equal([res.headers.get('x-request-id')]);
  });

  it('forwards the token on PRESENT routes without validating it', async () => {
    seen.delete('ValidateToken');
    expectError(
      await call('GET', '/api/v1/queue/status', { token: user }),
      401,
      'QUEUE_TOKEN_REQUIRED',
    );
    const res = await call('GET', '/api/v1/queue/status', {
      token: user,
      headers: { 'x-queue-token': 'waiting' },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({
      status: 'WAITING',
      position: 3,
      estimatedWaitSeconds: 0,
      expiresAt: 'x',
    });
    expect(seen.get('GetStatus')!.ctx.metadata.get('x-queue-token')).to.deep.equal(['waiting']);
    expect(seen.has('ValidateToken')).to.equal(false);
  });

  it("answers a caller's repeated status poll from one call for max_staleness_ms, and only theirs", async () => {
    const poll = (token: string, queueToken: string) =>
      call('GET', '/api/v1/queue/status', { token, headers: { 'x-queue-token': queueToken } });
    statusCalls = 0;
    const answers = await Promise.all([poll(user, 'poll-a'), poll(user, 'poll-a')]);
    expect((await poll(user, 'poll-a')).body).to.deep.equal(answers[0].body);
    expect(answers.map((a) => a.status)).to.deep.equal([200, 200]);
    expect(statusCalls).to.equal(1);
    // Another caller, or another token, is asked for: the JWT is checked on every request.
    await poll(admin, 'poll-a');
    await poll(user, 'poll-b');
    expect(statusCalls).to.equal(3);
    expectError(await poll(`${user}x`, 'poll-a'), 401, 'UNAUTHENTICATED');
    await new Promise((r) => setTimeout(r, 300)); // past GetStatus's 250 ms
    await poll(user, 'poll-a');
    expect(statusCalls).to.equal(4);
  });

  it("answers the route's success status unless the service sends x-http-code", async () => {
    const first = await call('POST', '/api/v1/queue/tokens', { token: user, body: '{}' });
    expect(first.status).to.equal(201);
    expect(first.body).to.deep.equal({
      token: 'tok',
      status: 'ACTIVE',
      position: 0,
      expiresAt: '2026-12-24T19:10:00Z',
    });
    const again = await signAccessToken(config.jwtSecret, { userId: 'again', ttlSeconds: 60 });
    expect((await call('POST', '/api/v1/queue/tokens', { token: again })).status).to.equal(200);
  });

  it('answers response_body and omits unset optional fields', async () => {
    const res = await call('POST', '/api/v1/reservations', {
      token: user,
      headers: { 'x-queue-token': 'active' },
      body: JSON.stringify({ concertId: 'c1', date: '2026-12-24', seatNumber: 7 }),
    });
    expect(res.status).to.equal(201);
    expect(res.body).to.deep.equal({ ...RESERVATION, status: 'HELD' });
    expect(seen.get('Reserve')!.req).to.deep.equal({
      concertId: 'c1',
      date: '2026-12-24',
      seatNumber: 7,
    });
    const got = await call('GET', '/api/v1/reservations/r1', { token: user });
    expect(got.body).to.deep.equal({ ...RESERVATION, status: 'CONFIRMED', paymentId: 'p1' });
  });

  it('forwards Idempotency-Key and refuses a bad one', async () => {
    const opts = { token: user, body: '{"reservationId":"r1"}' };
    const first = await call('POST', '/api/v1/payments', {
      ...opts,
      headers: { 'x-queue-token': 'active', 'idempotency-key': 'k1' },
    });
    expect(first.status).to.equal(201);
    expect(first.body).to.include({ paymentId: 'p1', amount: 10000, status: 'PAID' });
    expect(seen.get('Pay')!.ctx.metadata.get('idempotency-key')).to.deep.equal(['k1']);
    // The coordinator's calls come on the gateway's stream: a unary call's own headers (its
    // user-agent) are not among a streamed call's metadata, and the queue's call has them.
    expect(seen.get('Pay')!.ctx.metadata.get('user-agent')).to.deep.equal([]);
    await call('POST', '/api/v1/queue/tokens', { token: user, body: '{}' });
    expect(seen.get('IssueToken')!.ctx.metadata.get('user-agent')).to.have.length(1);
    const repeat = await call('POST', '/api/v1/payments', {
      ...opts,
      headers: { 'x-queue-token': 'active', 'idempotency-key': 'repeat' },
    });
    expect(repeat.status).to.equal(200);
    const bad = await call('POST', '/api/v1/payments', {
      ...opts,
      headers: { 'x-queue-token': 'active', 'idempotency-key': 'k'.repeat(129) },
    });
    expectError(bad, 400, 'INVALID_ARGUMENT');
    expect(bad.body!.details[0].metadata).to.deep.equal({ field: 'Idempotency-Key' });
  });

  it('keeps admin routes for admins', async () => {
    const body = JSON.stringify({ title: 'T', dates: ['2026-12-24'], price: 100 });
    expectError(
      await call('POST', '/api/v1/admin/concerts', { token: user, body }),
      403,
      'ADMIN_ONLY',
    );
    const res = await call('POST', '/api/v1/admin/concerts', { token: admin, body });
    expect(res.status).to.equal(201);
    expect(res.body).to.deep.equal({ concertId: 'c9', title: 'T', schedules: [] });
    expect(seen.get('CreateConcert')!.ctx.user).to.deep.equal({
      userId: 'boss',
      role: 'admin',
    });
  });

  it('answers 500 without internals', async () => {
    const res = await call('POST', '/api/v1/payments/p1/refund', { token: user, body: '{}' });
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({
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
  });

  it('answers 503 when the service is unreachable', async () => {
    const res = await call('GET', '/api/v1/points/u1', { token: user });
    expectError(res, 503, 'UNAVAILABLE');
    expect(res.body!.code).to.equal(14);
    expect(res.body!.message).not.to.match(/127\.0\.0\.1/);
  });

  it('answers 404 for unknown paths and 405 with Allow for other methods', async () => {
    expectError(await call('GET', '/api/v1/nope'), 404, 'NOT_FOUND');
    const res = await call('DELETE', '/api/v1/concerts/ranking');
    expectError(res, 405, 'NOT_FOUND');
    expect(res.body!.code).to.equal(12);
    expect(res.headers.get('allow')).to.equal('GET');
    const health = await call('POST', '/healthz');
    expect(health.status).to.equal(405);
    expect(health.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('refuses a streamed body over the limit while reading it', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${base}/api/v1/points/charge`, {
          method: 'POST',
          headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        // No Content-Length: chunked, so the limit is only found while reading.
        const chunk = Buffer.alloc(8 * 1024, 0x20);
        for (let i = 0; i < 10; i++) req.write(chunk);
        req.end();
      },
    );
    expect(status).to.equal(413);
    expect(JSON.parse(body)).to.deep.include({ code: 8 });
    expect(JSON.parse(body).details[0].reason).to.equal('PAYLOAD_TOO_LARGE');
  });

  it('reports readiness per service', async () => {
    const res = await call('GET', '/readyz');
    expectError(res, 503, 'UNAVAILABLE');
    expect(res.body!.details[0].metadata).to.deep.equal({ down: 'point' });
    expect((await call('GET', '/healthz')).body).to.deep.equal({ status: 'SERVING' });
  });

  it('serves Swagger UI and only its files', async () => {
    for (const path of ['/docs', '/docs/']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(await res.text()).to.contain('/docs/swagger-ui-bundle.js');
    }
    const init = await fetch(`${base}/docs/swagger-initializer.js`);
    expect(await init.text()).to.contain("url: '/docs/openapi.json'");
    const css = await fetch(`${base}/docs/swagger-ui.css`);
    expect([css.status, css.headers.get('content-type')]).to.deep.equal([
      200,
      'text/css; charset=utf-8',
    ]);
    await css.arrayBuffer();
    for (const path of [
      '/docs/package.json',
      '/docs/..%2Fpackage.json',
      '/docs/nope.js',
      '/docs/index.html.bak',
    ]) {
      expect((await call('GET', path)).status, path).to.equal(404);
    }
    const doc = await call('GET', '/docs/openapi.json');
    expect(doc.status).to.equal(200);
    expect(doc.body!.openapi).to.match(/^3\.0/);
  });

  it('records every request by method, route template and status, never the raw path', async () => {
    const count = (text: string, method: string, route: string, code: string) =>
      valueOf(text, 'http_server_duration_seconds_count', { method, route, code }) ?? 0;
    const reservation = '/api/v1/reservations/{reservation_id}';
    const before = await metrics.text();
    expect((await call('GET', '/api/v1/concerts')).status).to.equal(200);
    for (const id of ['r1', 'r2', 'r3'])
      expect((await call('GET', `/api/v1/reservations/${id}`, { token: user })).status).to.equal(
        200,
      );
    expect((await call('GET', '/api/v1/reservations/r4')).status).to.equal(401);
    expect((await call('GET', '/nowhere/42')).status).to.equal(404);
    expect((await call('PROPFIND', '/api/v1/concerts')).status).to.equal(405);
    const css = await fetch(`${base}/docs/swagger-ui.css`);
    await css.arrayBuffer();
    expect(css.status).to.equal(200);
    expect((await call('GET', '/healthz')).status).to.equal(200);
    const moved = (text: string) => [
      count(text, 'GET', '/api/v1/concerts', '200') -
        count(before, 'GET', '/api/v1/concerts', '200'),
      count(text, 'GET', reservation, '200') - count(before, 'GET', reservation, '200'),
      count(text, 'GET', reservation, '401') - count(before, 'GET', reservation, '401'),
      count(text, 'GET', 'unmatched', '404') - count(before, 'GET', 'unmatched', '404'),
      count(text, 'OTHER', 'unmatched', '405') - count(before, 'OTHER', 'unmatched', '405'),
      count(text, 'GET', '/docs', '200') - count(before, 'GET', '/docs', '200'),
      count(text, 'GET', '/healthz', '200') - count(before, 'GET', '/healthz', '200'),
    ];
    // Recorded once the answer has gone out, which the client may see a moment before.
    let text = await metrics.text();
    for (let i = 0; i < 50 && moved(text).join() !== '1,3,1,1,1,1,1'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metrics.text();
    }
    expect(moved(text)).to.deep.equal([1, 3, 1, 1, 1, 1, 1]);
    const routes = samplesOf(text, 'http_server_duration_seconds_count').map((s) => s.labels.route);
    expect(routes.filter((r) => /r[1-4]|nowhere|swagger/.test(r))).to.deep.equal([]);
  });

  it('records a request whose client hangs up before the answer as 499', async () => {
    const route = '/api/v1/points/charge';
    const hungUp = async () =>
      valueOf(await metrics.text(), 'http_server_duration_seconds_count', {
        method: 'POST',
        route,
        code: '499',
      }) ?? 0;
    const before = await hungUp();
    // Half a body, then gone: the gateway is still reading it.
    const req = httpRequest(`${base}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-length': '100' },
    });
    req.on('error', () => undefined);
    req.write('{"amount":');
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    let now = await hungUp();
    for (let i = 0; i < 50 && now === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      now = await hungUp();
    }
    expect(now - before).to.equal(1);
  });
});
