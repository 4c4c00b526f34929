// The waiting room through the gateway with a small cap: FIFO positions, the active cap,
// idempotent issue, admission when active tokens expire, and the token errors.
import { expect } from 'chai';
import { jwtFor } from '../support/jwt';
import { startMesh, type ApiResponse, type Mesh } from '../support/mesh';

function reason(res: ApiResponse): string | undefined {
  return res.body?.details?.[0]?.reason;
}

describe('waiting room through the gateway', function () {
  this.timeout(120_000);
  let mesh: Mesh;
  const users = ['w1', 'w2', 'w3', 'w4'];
  const jwts: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  before(async () => {
    mesh = await startMesh({
      QUEUE_MAX_ACTIVE: '2',
      QUEUE_ACTIVE_TTL_SECONDS: '3',
      QUEUE_IDLE_TIMEOUT_SECONDS: '60',
      QUEUE_ADMIT_INTERVAL_MS: '100',
    });
    for (const u of users) jwts[u] = await jwtFor(u);
  });
  after(async () => mesh?.destroy());

  const status = (u: string) =>
    mesh.request('GET', '/api/v1/queue/status', { token: jwts[u], queueToken: tokens[u] });

  it('admits the first two and lines up the rest in issue order', async () => {
    const answers: ApiResponse[] = [];
    for (const u of users) {
      const res = await mesh.request('POST', '/api/v1/queue/tokens', { token: jwts[u], body: {} });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      tokens[u] = res.body.token;
      answers.push(res);
    }
    expect(answers.map((r) => [r.body.status, r.body.position])).to.deep.equal([
      ['ACTIVE', 0],
      ['ACTIVE', 0],
      ['WAITING', 1],
      ['WAITING', 2],
    ]);
    for (const r of answers)
      expect(new Date(r.body.expiresAt).getTime()).to.be.greaterThan(Date.now());
  });

  it('returns the same token with 200 when a user asks again', async () => {
    const again = await mesh.request('POST', '/api/v1/queue/tokens', { token: jwts.w3, body: {} });
    expect([again.status, again.body.token, again.body.status, again.body.position]).to.deep.equal([
      200,
      tokens.w3,
      'WAITING',
      1,
    ]);
  });

  it('reports position and an estimated wait to a waiting user', async () => {
    const res = await status('w4');
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ status: 'WAITING', position: 2 });
    expect(res.body.estimatedWaitSeconds).to.be.a('number').and.at.least(0);
  });

  it('keeps a waiting user off booking routes with 403 QUEUE_TOKEN_NOT_ACTIVE', async () => {
    const res = await mesh.request('GET', '/api/v1/concerts/any/dates', {
      token: jwts.w3,
      queueToken: tokens.w3,
    });
    expect([res.status, reason(res)]).to.deep.equal([403, 'QUEUE_TOKEN_NOT_ACTIVE']);
  });

  it("refuses another user's token on status with 403 QUEUE_TOKEN_USER_MISMATCH", async () => {
    const res = await mesh.request('GET', '/api/v1/queue/status', {
      token: jwts.w1,
      queueToken: tokens.w2,
    });
    expect([res.status, reason(res)]).to.deep.equal([403, 'QUEUE_TOKEN_USER_MISMATCH']);
  });

  it('admits the waiting users in order once the active tokens expire, and the expired ones get 401', async () => {
    const deadline = Date.now() + 8000;
    let w3: ApiResponse;
    let w4: ApiResponse;
    do {
      await new Promise((r) => setTimeout(r, 200));
      w3 = await status('w3');
      w4 = await status('w4');
    } while ((w3.body.status !== 'ACTIVE' || w4.body.status !== 'ACTIVE') && Date.now() < deadline);
    expect([w3.body.status, w3.body.position, w4.body.status, w4.body.position]).to.deep.equal([
      'ACTIVE',
      0,
      'ACTIVE',
      0,
    ]);
    const expired = await mesh.request('GET', '/api/v1/concerts/any/dates', {
      token: jwts.w1,
      queueToken: tokens.w1,
    });
    expect([expired.status, reason(expired)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
    const expiredStatus = await status('w1');
    expect([expiredStatus.status, reason(expiredStatus)]).to.deep.equal([
      401,
      'QUEUE_TOKEN_EXPIRED',
    ]);
  });

  it('issues a fresh token after the old one expired', async () => {
    const res = await mesh.request('POST', '/api/v1/queue/tokens', { token: jwts.w1, body: {} });
    expect(res.status).to.equal(201);
    expect(res.body.token).to.not.equal(tokens.w1);
  });

  it('answers a missing or forged token on status with 401', async () => {
    const missing = await mesh.request('GET', '/api/v1/queue/status', { token: jwts.w1 });
    expect([missing.status, reason(missing)]).to.deep.equal([401, 'QUEUE_TOKEN_REQUIRED']);
    const forged = await mesh.request('GET', '/api/v1/queue/status', {
      token: jwts.w1,
      queueToken: `${tokens.w1}x`,
    });
    expect([forged.status, reason(forged)]).to.deep.equal([401, 'QUEUE_TOKEN_INVALID']);
  });

  it('stops cleanly on SIGTERM: in-flight work drained, exit code 0', async () => {
    expect(await mesh.stop()).to.deep.equal([0]);
  });
});
