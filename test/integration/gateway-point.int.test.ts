// The real point service on its own test database, behind the real gateway, over real HTTP.
// Every other service is left unreachable, which /readyz must report.
import { expect } from 'chai';
import type { Config } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import { startPoint } from '../../services/point/main';
import { testContext, type TestContext } from '../support/context';
import { runId } from '../support/infra';
import { loadProtos } from '../../lib/grpc/protos';
import { signAccessToken } from '../../gateway/auth';
import { startGateway } from '../../gateway/main';
import { buildRoutes } from '../../gateway/routes';

// Answers are checked field by field; a loose JSON type keeps the tests readable.

type Json = any;

type Answer = { status: number; headers: Headers; body: Record<string, Json> | undefined };

describe('gateway in front of the point service', function () {
  this.timeout(60_000);
  let ctx: TestContext;
  let config: Config;
  let base = '';
  let u1 = '';
  const user = `gw${Date.now().toString(36)}`;

  before(async () => {
    ctx = await testContext(
      {
        DB_NAME_PREFIX: `${runId()}_`,
        POINT_GRPC_PORT: '0',
        GATEWAY_PORT: '0',
        GRPC_DEADLINE_MS: '3000',
      },
      3000,
    );
    config = ctx.config;
    const pointPort = await startPoint(ctx);
    // Every other service points at a port where nothing listens.
    const down = '127.0.0.1:1';
    const gwConfig: Config = {
      ...config,
      grpcTargets: {
        ...config.grpcTargets,
        point: `127.0.0.1:${pointPort}`,
        queue: down,
        concert: down,
        reservation: down,
        payment: down,
        coordinator: down,
      },
    };
    const port = await startGateway({ ...ctx, config: gwConfig });
    base = `http://127.0.0.1:${port}`;
    u1 = await signAccessToken(config.jwtSecret, { userId: user, ttlSeconds: 600 });
  });

  after(async () => {
    await ctx.stop();
    await dropDatabase(config.db.point);
  });

  async function call(
    method: string,
    path: string,
    opts: { auth?: string; body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.auth !== undefined) headers.authorization = opts.auth;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, Json>) : undefined,
    };
  }

  const bearer = () => `Bearer ${u1}`;

  function expectError(
    res: Answer,
    status: number,
    code: number,
    reason: string,
    metadata?: Record<string, string>,
  ): void {
    expect(res.status, JSON.stringify(res.body)).to.equal(status);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(res.body).to.have.all.keys('code', 'message', 'details');
    expect(res.body!.code).to.equal(code);
    expect(res.body!.message).to.be.a('string').and.not.equal('');
    expect(res.body!.details).to.have.length(1);
    expect(res.body!.details[0]).to.have.all.keys('@type', 'reason', 'domain', 'metadata');
    expect(res.body!.details[0]).to.include({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason,
      domain: 'boxoffice',
    });
    if (metadata) expect(res.body!.details[0].metadata).to.deep.equal(metadata);
  }

  it('charges points: 200 {userId, balance}', async () => {
    const first = await call('POST', '/api/v1/points/charge', {
      auth: bearer(),
      body: '{"amount":1000}',
    });
    expect(first.status).to.equal(200);
    expect(first.headers.get('content-type')).to.equal('application/json');
    expect(first.body).to.deep.equal({ userId: user, balance: 1000 });
    const second = await call('POST', '/api/v1/points/charge', {
      auth: bearer(),
      body: JSON.stringify({ userId: user, amount: '500' }),
    });
    expect(second.body).to.deep.equal({ userId: user, balance: 1500 });
  });

  it('reads the balance, and 0 for a new user', async () => {
    expect((await call('GET', `/api/v1/points/${user}`, { auth: bearer() })).body).to.deep.equal({
      userId: user,
      balance: 1500,
    });
    const fresh = await signAccessToken(config.jwtSecret, {
      userId: `${user}_new`,
      ttlSeconds: 60,
    });
    const res = await call('GET', `/api/v1/points/${user}_new`, { auth: `Bearer ${fresh}` });
    expect([res.status, res.body]).to.deep.equal([200, { userId: `${user}_new`, balance: 0 }]);
  });

  it('reads the history newest first, with limit', async () => {
    const res = await call('GET', `/api/v1/points/${user}/history`, { auth: bearer() });
    expect(res.status).to.equal(200);
    expect(res.body!.entries).to.have.length(2);
    expect(res.body!.entries[0]).to.include({ type: 'CHARGE', amount: 500, balanceAfter: 1500 });
    expect(res.body!.entries[0]).to.have.all.keys(
      'type',
      'amount',
      'balanceAfter',
      'reference',
      'at',
    );
    expect(res.body!.entries[1]).to.include({ type: 'CHARGE', amount: 1000, balanceAfter: 1000 });
    const limited = await call('GET', `/api/v1/points/${user}/history?limit=1`, { auth: bearer() });
    expect(limited.body!.entries).to.have.length(1);
    expectError(
      await call('GET', `/api/v1/points/${user}/history?limit=0`, { auth: bearer() }),
      400,
      3,
      'INVALID_ARGUMENT',
      {
        field: 'limit',
      },
    );
  });

  it('answers 401 UNAUTHENTICATED with a challenge for every bad token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signAccessToken(config.jwtSecret, {
      userId: user,
      ttlSeconds: 10,
      nowSeconds: now - 60,
    });
    const forged = await signAccessToken('not-the-gateway-secret', {
      userId: user,
      ttlSeconds: 60,
    });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: user, exp: now + 60 }),
    ).toString('base64url')}.`;
    for (const auth of [
      undefined,
      'Basic x',
      `Bearer ${expired}`,
      `Bearer ${forged}`,
      `Bearer ${none}`,
      'Bearer garbage',
    ]) {
      const res = await call('GET', `/api/v1/points/${user}`, { auth });
      expectError(res, 401, 16, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate'), String(auth)).to.match(
        /^Bearer realm="boxoffice"/,
      );
    }
  });

  it("refuses another user's wallet with 403 USER_MISMATCH", async () => {
    expectError(
      await call('GET', '/api/v1/points/someone_else', { auth: bearer() }),
      403,
      7,
      'USER_MISMATCH',
    );
    expectError(
      await call('POST', '/api/v1/points/charge', {
        auth: bearer(),
        body: '{"userId":"someone_else","amount":5}',
      }),
      403,
      7,
      'USER_MISMATCH',
    );
  });

  it('passes the service refusal INVALID_AMOUNT as 400', async () => {
    for (const amount of [0, -5, 1_000_001]) {
      const res = await call('POST', '/api/v1/points/charge', {
        auth: bearer(),
        body: JSON.stringify({ amount }),
      });
      expectError(res, 400, 3, 'INVALID_AMOUNT');
    }
  });

  it('refuses unknown fields, wrong types, missing fields and malformed JSON with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['{"amount":5,"bonus":1}', 'bonus'],
      ['{"amount":"five"}', 'amount'],
      ['{"amount":5.5}', 'amount'],
      ['{"amount":5,"userId":42}', 'userId'],
      ['{}', 'amount'],
      ['{"amount":', 'body'],
      ['[]', 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await call('POST', '/api/v1/points/charge', { auth: bearer(), body });
      expectError(res, 400, 3, 'INVALID_ARGUMENT', { field });
    }
    expectError(
      await call('GET', `/api/v1/points/${user}/history?limit=x`, { auth: bearer() }),
      400,
      3,
      'INVALID_ARGUMENT',
      {
        field: 'limit',
      },
    );
  });

  it('answers 413 PAYLOAD_TOO_LARGE for a 70 KiB body', async () => {
    const body = JSON.stringify({ amount: 5, pad: 'x'.repeat(70 * 1024) });
    const res = await call('POST', '/api/v1/points/charge', { auth: bearer(), body });
    expectError(res, 413, 8, 'PAYLOAD_TOO_LARGE');
    // Nothing was charged.
    expect(
      (await call('GET', `/api/v1/points/${user}`, { auth: bearer() })).body!.balance,
    ).to.equal(1500);
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    expectError(await call('GET', '/api/v1/points'), 404, 5, 'NOT_FOUND');
    const res = await call('GET', '/api/v1/points/charge/x');
    expect(res.status).to.equal(404);
    const wrong = await call('PUT', '/api/v1/points/charge', { auth: bearer(), body: '{}' });
    expectError(wrong, 405, 12, 'NOT_FOUND');
    // /api/v1/points/charge is also /api/v1/points/{userId}, which takes GET.
    expect(wrong.headers.get('allow')).to.equal('GET, POST');
    const wrongToo = await call('DELETE', '/api/v1/points/u1/history');
    expectError(wrongToo, 405, 12, 'NOT_FOUND');
    expect(wrongToo.headers.get('allow')).to.equal('GET');
  });

  it('is alive on /healthz', async () => {
    const res = await call('GET', '/healthz');
    expect([res.status, res.body]).to.deep.equal([200, { status: 'SERVING' }]);
  });

  it('is not ready while the other services are down, and says which', async () => {
    const res = await call('GET', '/readyz');
    expectError(res, 503, 14, 'UNAVAILABLE');
    expect(res.body!.details[0].metadata.down.split(',')).to.deep.equal([
      'concert',
      'coordinator',
      'queue',
      'reservation',
    ]);
  });

  it('serves an OpenAPI document with every route', async () => {
    const res = await call('GET', '/docs/openapi.json');
    expect(res.status).to.equal(200);
    const doc = res.body!;
    expect(doc.openapi).to.match(/^3\.0\.\d+$/);
    expect(doc.info.title).to.be.a('string');
    const routes = buildRoutes(loadProtos());
    for (const r of routes) {
      const path = r.template.replace(
        /\{(\w+)\}/g,
        (_, name: string) => `{${name.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())}}`,
      );
      expect(
        doc.paths[path]?.[r.httpMethod.toLowerCase()],
        `${r.httpMethod} ${path}`,
      ).to.have.property('responses');
    }
    expect(
      doc.paths['/api/v1/points/charge'].post.responses['200'].content['application/json'].schema
        .$ref,
    ).to.equal('#/components/schemas/boxoffice.point.v1.ChargeResponse');
    expect(doc.components.securitySchemes).to.have.keys('bearerAuth', 'queueToken');
    const ui = await fetch(`${base}/docs`);
    expect(ui.status).to.equal(200);
    expect(await ui.text()).to.contain('swagger-ui');
  });
});
