// The operators' transaction routes the console and the CLI use: the real coordinator on its
// own test database, behind the real gateway, over real HTTP. The log is seeded as the engine
// writes it (begin, transitions, parking), and recovery is kept out of the way (an hour's
// interval), so each answer is exactly the log's.
import { expect } from 'chai';
import type { Config } from '../../lib/config';
import { Database, createPool, dropDatabase } from '../../lib/db';
import { startCoordinator } from '../../coordinator/main';
import { SqlTxLog, type BranchRecord } from '../../coordinator/engine/log';
import { startGateway } from '../../gateway/main';
import { testContext, type TestContext } from '../support/context';
import { runId } from '../support/infra';
import { jwtFor } from '../support/jwt';

type Json = any;
type Answer = { status: number; body: Json };

const HOUR = 3_600_000;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('operator routes of the coordinator (real MariaDB, behind the gateway)', function () {
  this.timeout(60_000);
  let ctx: TestContext;
  let config: Config;
  let db: Database;
  let log: SqlTxLog;
  let base = '';
  let admin = '';
  let other = '';
  let user = '';
  /** When the oldest seeded transaction began: ten minutes before the seeding. */
  let t0 = 0;
  /** The seeded transactions, oldest first. */
  const gids: string[] = [];

  before(async () => {
    ctx = await testContext({
      DB_NAME_PREFIX: `${runId()}_`,
      COORDINATOR_GRPC_PORT: '0',
      GATEWAY_PORT: '0',
      TX_RECOVERY_INTERVAL_MS: String(HOUR),
      COORDINATOR_ID: 'console-test',
    });
    config = ctx.config;
    const port = await startCoordinator(ctx);
    const down = '127.0.0.1:1';
    const gwConfig: Config = {
      ...config,
      grpcTargets: {
        ...config.grpcTargets,
        coordinator: `127.0.0.1:${port}`,
        queue: down,
        concert: down,
        reservation: down,
        payment: down,
        point: down,
        ops: down,
      },
    };
    base = `http://127.0.0.1:${await startGateway({ ...ctx, config: gwConfig })}`;
    db = new Database(createPool(config.db.coordinator), config.db.coordinator.database);
    log = new SqlTxLog(db);
    admin = await jwtFor('ops-anna', { admin: true });
    other = await jwtFor('ops-bert', { admin: true });
    user = await jwtFor('u1');
    t0 = Date.now() - 10 * 60_000;
    await seed();
  });

  after(async () => {
    await db?.close();
    await ctx?.stop();
    if (config) await dropDatabase(config.db.coordinator);
  });

  /** One transaction begun `minutesAgo`, with its deadline `ttlMs` after that. */
  async function begin(
    name: string,
    flow: string,
    mode: 'xa' | 'saga',
    input: Record<string, unknown>,
    at: number,
    ttlMs = 30_000,
  ): Promise<string> {
    // Ids sort as their creation: 26 characters, the name padded into a readable one.
    const gid = `${String(at).padStart(13, '0')}${name}`.padEnd(26, '0').slice(0, 26);
    await log.begin(
      {
        gid,
        flow,
        mode,
        payload: input,
        owner: 'seed',
        deadlineAt: new Date(at + ttlMs),
        leaseUntil: new Date(Date.now() + HOUR),
        traceContext: TRACEPARENT,
      },
      new Date(at),
    );
    gids.push(gid);
    return gid;
  }

  const branch = (
    id: string,
    participant: string,
    state: string,
    ms: number,
    error?: string,
  ): BranchRecord => ({
    branchId: id,
    participant,
    action: id.includes(':') ? id.split(':')[1] : 'action',
    state,
    attempts: error ? 4 : 1,
    lastError: error ?? null,
    startedAt: new Date(t0 + ms),
    endedAt: new Date(t0 + ms + 20),
  });

  const named = new Map<string, string>();

  async function seed(): Promise<void> {
    const ids = (n: number) => ({
      userId: `user${n % 3}`,
      reservationId: `res${n}`,
      paymentId: `pay${n}`,
    });
    // Eight committed saga reservations and payments, a minute apart.
    for (let n = 0; n < 8; n++) {
      const gid = await begin(`c${n}`, n % 2 ? 'pay' : 'reserve', 'saga', ids(n), t0 + n * 60_000);
      await log.transition(gid, 'RUNNING', 'COMMITTED', new Date(t0 + n * 60_000 + 50));
    }
    // An XA payment stuck in phase 2: a participant kept refusing its commit.
    const stuck = await begin('stuck', 'pay', 'xa', ids(20), t0 + 8 * 60_000 + 1);
    await log.transition(stuck, 'RUNNING', 'COMMITTING', new Date(t0 + 8 * 60_000 + 40), {
      branches: [branch('use-points', 'point', 'PREPARED', 8 * 60_000 + 5)],
    });
    await log.noteBranch(
      stuck,
      branch('point:commit', 'point', 'FAILED', 8 * 60_000 + 45, 'UNAVAILABLE: point is down'),
      new Date(),
    );
    await log.park(
      stuck,
      'phase 2 commit: UNAVAILABLE: point is down',
      new Date(t0 + 9 * 60_000),
      0,
    );
    named.set('stuck', stuck);
    // An XA payment in doubt: RUNNING past its deadline, nothing decided, parked.
    const doubt = await begin('doubt', 'pay', 'xa', ids(21), t0 + 8 * 60_000 + 2, 1000);
    await log.park(doubt, 'step use-points could not be reached', new Date(t0 + 9 * 60_000), 0);
    named.set('doubt', doubt);
    // An XA payment still running within its time to live, and a saga past its deadline.
    named.set('young', await begin('young', 'pay', 'xa', ids(22), Date.now(), HOUR));
    named.set('saga', await begin('saga', 'pay', 'saga', ids(23), t0 + 8 * 60_000 + 3, 1000));
  }

  async function call(
    method: string,
    path: string,
    token = admin,
    body?: unknown,
  ): Promise<Answer> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  const reasonOf = (a: Answer) => a.body.details?.[0]?.reason as string | undefined;
  const list = (query: string) => call('GET', `/api/v1/admin/transactions?${query}`);

  it('lists newest first with counts per state, stuck and in-doubt ones apart', async () => {
    const res = await list('');
    expect(res.status).to.equal(200);
    expect(res.body.transactions.map((t: Json) => t.gid)).to.deep.equal(
      [...gids].reverse().sort().reverse(),
    );
    const counts = Object.fromEntries(res.body.counts.map((c: Json) => [c.state, c.count]));
    expect(counts).to.deep.equal({ COMMITTED: 8, STUCK: 2, RUNNING: 2, IN_DOUBT: 1 });
    const stuck = res.body.transactions.find((t: Json) => t.gid === named.get('stuck'));
    expect(stuck).to.include({
      state: 'STUCK',
      stuckIn: 'COMMITTING',
      flow: 'pay',
      mode: 'xa',
      inDoubt: false,
      userId: 'user2',
      reservationId: 'res20',
      paymentId: 'pay20',
      nextAttemptAt: '',
    });
    expect(stuck.lastError).to.equal('phase 2 commit: UNAVAILABLE: point is down');
    const doubt = res.body.transactions.find((t: Json) => t.gid === named.get('doubt'));
    expect(doubt).to.include({ state: 'STUCK', stuckIn: 'RUNNING', inDoubt: true });
  });

  it('filters by state, flow, mode, age and the ids of the input', async () => {
    const gidsOf = async (query: string) => {
      const res = await list(query);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      return (res.body.transactions as Json[]).map((t) => t.gid).sort();
    };
    expect(await gidsOf('state=STUCK')).to.deep.equal(
      [named.get('stuck'), named.get('doubt')].sort(),
    );
    expect(await gidsOf('state=IN_DOUBT')).to.deep.equal([named.get('doubt')]);
    expect(await gidsOf('state=RUNNING')).to.deep.equal(
      [named.get('young'), named.get('saga')].sort(),
    );
    expect(await gidsOf('state=COMMITTED&flow=reserve')).to.deep.equal(
      gids
        .slice(0, 8)
        .filter((_, i) => i % 2 === 0)
        .sort(),
    );
    expect(await gidsOf('mode=xa&state=RUNNING')).to.deep.equal([named.get('young')]);
    expect(await gidsOf('userId=user1&state=COMMITTED')).to.deep.equal(
      [gids[1], gids[4], gids[7]].sort(),
    );
    expect(await gidsOf('reservationId=res20')).to.deep.equal([named.get('stuck')]);
    expect(await gidsOf('paymentId=pay3')).to.deep.equal([gids[3]]);
    expect(await gidsOf('maxAgeSeconds=60')).to.deep.equal([named.get('young')]);
    expect(await gidsOf('minAgeSeconds=300&flow=reserve')).to.deep.equal(
      [gids[0], gids[2], gids[4]].sort(),
    );
  });

  it('pages on the server: every transaction exactly once, counts on every page', async () => {
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await list(`limit=5${token ? `&pageToken=${token}` : ''}`);
      expect(res.status).to.equal(200);
      expect(res.body.transactions.length).to.be.at.most(5);
      expect(res.body.counts.length).to.equal(4);
      seen.push(...res.body.transactions.map((t: Json) => t.gid));
      token = res.body.nextPageToken;
      pages++;
    } while (token);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal([...gids].sort().reverse());
  });

  it('answers 400 naming the field for a bad filter, never a 500', async () => {
    for (const [query, field] of [
      ['state=LOST', 'state'],
      ['flow=transfer', 'flow'],
      ['mode=2pc', 'mode'],
      ['limit=501', 'limit'],
      ['minAgeSeconds=600&maxAgeSeconds=60', 'maxAgeSeconds'],
      ['userId=a%20b', 'userId'],
      ['pageToken=bm90IGEgdG9rZW4', 'pageToken'],
      ['minAgeSeconds=-1', 'minAgeSeconds'],
    ]) {
      const res = await list(query);
      expect(res.status, query).to.equal(400);
      expect(res.body.details[0], query).to.deep.include({
        reason: 'INVALID_ARGUMENT',
        metadata: { field },
      });
    }
  });

  it('shows one transaction: input, history, branches with their spans, its trace', async () => {
    const res = await call('GET', `/api/v1/admin/transactions/${named.get('stuck')}`);
    expect(res.status).to.equal(200);
    const t = res.body.transaction;
    expect(JSON.parse(t.input)).to.deep.equal({
      userId: 'user2',
      reservationId: 'res20',
      paymentId: 'pay20',
    });
    expect(t.traceId).to.equal('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(t.history.map((h: Json) => [h.event, h.state])).to.deep.equal([
      ['MOVED', 'COMMITTING'],
      ['PARKED', 'COMMITTING'],
    ]);
    expect(t.history[1].detail).to.equal('phase 2 commit: UNAVAILABLE: point is down');
    expect(t.branches).to.deep.equal([
      {
        branchId: 'use-points',
        participant: 'point',
        action: 'action',
        state: 'PREPARED',
        attempts: 1,
        lastError: '',
        startedAt: new Date(t0 + 8 * 60_000 + 5).toISOString(),
        endedAt: new Date(t0 + 8 * 60_000 + 25).toISOString(),
      },
      {
        branchId: 'point:commit',
        participant: 'point',
        action: 'commit',
        state: 'FAILED',
        attempts: 4,
        lastError: 'UNAVAILABLE: point is down',
        startedAt: new Date(t0 + 8 * 60_000 + 45).toISOString(),
        endedAt: new Date(t0 + 8 * 60_000 + 65).toISOString(),
      },
    ]);
  });

  it('answers 404 for an unknown gid, and records a refused action on it', async () => {
    const get = await call('GET', '/api/v1/admin/transactions/00000000000000000000nothing');
    expect([get.status, reasonOf(get)]).to.deep.equal([404, 'TRANSACTION_NOT_FOUND']);
    const retry = await call(
      'POST',
      '/api/v1/admin/transactions/00000000000000000000nothing/retry',
      admin,
      { expectedState: 'STUCK' },
    );
    expect([retry.status, reasonOf(retry)]).to.deep.equal([404, 'TRANSACTION_NOT_FOUND']);
  });

  it('retries only a transaction still in the state the operator saw: of two at once, one acts', async () => {
    const gid = named.get('stuck')!;
    const path = `/api/v1/admin/transactions/${gid}/retry`;
    const stale = await call('POST', path, admin, { expectedState: 'COMMITTING' });
    expect([stale.status, reasonOf(stale), stale.body.details[0].metadata]).to.deep.equal([
      409,
      'TRANSACTION_STATE_CHANGED',
      { state: 'STUCK' },
    ]);
    const both = await Promise.all([
      call('POST', path, admin, { expectedState: 'STUCK' }),
      call('POST', path, other, { expectedState: 'STUCK' }),
    ]);
    expect(both.map((a) => a.status).sort()).to.deep.equal([200, 409]);
    const won = both.find((a) => a.status === 200)!;
    const lost = both.find((a) => a.status === 409)!;
    expect(won.body.transaction).to.include({ state: 'COMMITTING', parkedAt: '', attempts: 0 });
    expect(Date.parse(won.body.transaction.nextAttemptAt)).to.be.at.most(Date.now());
    expect(won.body.transaction.history.at(-1)).to.include({
      event: 'RETRIED',
      state: 'COMMITTING',
    });
    expect(lost.body.details[0].metadata).to.deep.equal({ state: 'COMMITTING' });
    const trail = await call('GET', `/api/v1/admin/operator-actions?target=${gid}`);
    const actions = trail.body.actions.map((a: Json) => [a.action, a.expectedState, a.result]);
    // Newest first: the two at once (in either order), then the stale one.
    expect(actions).to.have.length(3);
    expect(actions.slice(0, 2)).to.have.deep.members([
      ['retry', 'STUCK', 'DONE'],
      ['retry', 'STUCK', 'REFUSED'],
    ]);
    expect(actions[2]).to.deep.equal(['retry', 'COMMITTING', 'REFUSED']);
    expect(new Set(trail.body.actions.map((a: Json) => a.actor))).to.deep.equal(
      new Set(['ops-anna', 'ops-bert']),
    );
  });

  it('decides an XA transaction in doubt by the rule, once: presumed abort, due now', async () => {
    const gid = named.get('doubt')!;
    const path = `/api/v1/admin/transactions/${gid}/decide`;
    const both = await Promise.all([
      call('POST', path, admin, { expectedState: 'STUCK' }),
      call('POST', path, other, { expectedState: 'STUCK' }),
    ]);
    expect(both.map((a) => a.status).sort()).to.deep.equal([200, 409]);
    const won = both.find((a) => a.status === 200)!;
    expect(won.body.decision).to.equal('ROLLBACK');
    expect(won.body.transaction).to.include({ state: 'ABORTING', parkedAt: '', inDoubt: false });
    expect(JSON.parse(won.body.transaction.outcome)).to.deep.include({
      ok: false,
      reason: 'UNAVAILABLE',
    });
    expect(won.body.transaction.history.at(-1)).to.include({ event: 'DECIDED', state: 'ABORTING' });
    expect(both.find((a) => a.status === 409)!.body.details[0].metadata).to.deep.equal({
      state: 'ABORTING',
    });
  });

  it('refuses a decision the rule does not leave: within its time to live, decided already, a saga', async () => {
    const young = await call(
      'POST',
      `/api/v1/admin/transactions/${named.get('young')}/decide`,
      admin,
      { expectedState: 'RUNNING' },
    );
    expect([young.status, reasonOf(young)]).to.deep.equal([400, 'TRANSACTION_NOT_IN_DOUBT']);
    expect(young.body.details[0].metadata).to.have.keys('state', 'decidableAt');
    const decided = await call(
      'POST',
      `/api/v1/admin/transactions/${named.get('stuck')}/decide`,
      admin,
      { expectedState: 'COMMITTING' },
    );
    expect([decided.status, reasonOf(decided), decided.body.details[0].metadata]).to.deep.equal([
      400,
      'TRANSACTION_NOT_IN_DOUBT',
      { state: 'COMMITTING', decision: 'COMMIT' },
    ]);
    const saga = await call(
      'POST',
      `/api/v1/admin/transactions/${named.get('saga')}/decide`,
      admin,
      { expectedState: 'RUNNING' },
    );
    expect([saga.status, reasonOf(saga)]).to.deep.equal([400, 'TRANSACTION_NOT_IN_DOUBT']);
    const ended = await call('POST', `/api/v1/admin/transactions/${gids[0]}/retry`, admin, {
      expectedState: 'COMMITTED',
    });
    expect([ended.status, reasonOf(ended)]).to.deep.equal([400, 'TRANSACTION_ENDED']);
    const missing = await call('POST', `/api/v1/admin/transactions/${gids[0]}/retry`, admin, {});
    expect([missing.status, missing.body.details[0].metadata]).to.deep.equal([
      400,
      { field: 'expectedState' },
    ]);
  });

  it('shows a non-admin nothing (403) and changes nothing for them', async () => {
    const before = await call('GET', '/api/v1/admin/operator-actions?limit=500');
    const gid = named.get('young')!;
    for (const [method, path, body] of [
      ['GET', '/api/v1/admin/transactions', undefined],
      ['GET', `/api/v1/admin/transactions/${gid}`, undefined],
      ['POST', `/api/v1/admin/transactions/${gid}/retry`, { expectedState: 'RUNNING' }],
      ['POST', `/api/v1/admin/transactions/${gid}/decide`, { expectedState: 'RUNNING' }],
      ['GET', '/api/v1/admin/operator-actions', undefined],
    ] as const) {
      const res = await call(method, path, user, body);
      expect([res.status, reasonOf(res)], path).to.deep.equal([403, 'ADMIN_ONLY']);
      expect(JSON.stringify(res.body)).not.to.include(gid.slice(13));
    }
    expect((await call('GET', '/api/v1/admin/operator-actions?limit=500')).body).to.deep.equal(
      before.body,
    );
    const anonymous = await fetch(`${base}/api/v1/admin/transactions`);
    expect(anonymous.status).to.equal(401);
  });
});
