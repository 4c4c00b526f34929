// The waiting room against the real Redis, each test under its own key prefix.
import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import { createRedis, type Redis } from '../../lib/redis';
import { loadConfig } from '../../lib/config';
import { testRedis, type TestRedis } from '../../test/support/infra';
import { mintToken } from './domain/token';
import { WaitingRoom, type IssuedToken, type WaitingRoomSettings } from './waitingRoom';

const SECRET = 'int-test-queue-secret';
const BASE: WaitingRoomSettings = {
  maxActive: 2,
  admitIntervalMs: 1000,
  activeTtlSeconds: 600,
  idleTimeoutSeconds: 300,
  tokenSecret: SECRET,
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function reasonOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof DomainError ? err.reason : `not a DomainError: ${String(err)}`;
  }
  return undefined;
}

describe('waiting room (Redis)', function () {
  let t: TestRedis;
  const extra: Redis[] = [];

  beforeEach(async () => {
    t = await testRedis();
  });

  afterEach(async () => {
    for (const r of extra.splice(0)) r.disconnect();
    await t.cleanup();
  });

  function room(settings: Partial<WaitingRoomSettings> = {}, redis: Redis = t.redis): WaitingRoom {
    return new WaitingRoom(redis, { ...BASE, ...settings });
  }

  /** A second connection on the same prefix: another queue instance. */
  function otherInstance(settings: Partial<WaitingRoomSettings> = {}): WaitingRoom {
    const r = createRedis(loadConfig().redis.url, t.prefix);
    extra.push(r);
    return room(settings, r);
  }

  it('activates while slots are free, then lines users up in issue order', async () => {
    const q = room({ maxActive: 2 });
    const issued: IssuedToken[] = [];
    for (const u of ['u1', 'u2', 'u3', 'u4', 'u5']) issued.push(await q.issueToken(u));
    expect(issued.map((i) => i.status)).to.deep.equal([
      'ACTIVE',
      'ACTIVE',
      'WAITING',
      'WAITING',
      'WAITING',
    ]);
    expect(issued.map((i) => i.position)).to.deep.equal([0, 0, 1, 2, 3]);
    expect(issued.every((i) => !i.existing)).to.equal(true);
    const s4 = await q.getStatus(issued[3].token, 'u4');
    expect(s4.status).to.equal('WAITING');
    expect(s4.position).to.equal(2);
    expect(s4.estimatedWaitSeconds).to.be.greaterThan(0);
    const s1 = await q.getStatus(issued[0].token, 'u1');
    expect(s1).to.include({ status: 'ACTIVE', position: 0, estimatedWaitSeconds: 0 });
    expect(await q.stats()).to.deep.equal({ waiting: 3, active: 2 });
  });

  it('never lets a new user jump ahead of the line, even when a slot is free', async () => {
    const q = room({ maxActive: 1 });
    const a = await q.issueToken('a');
    const b = await q.issueToken('b');
    expect(b.status).to.equal('WAITING');
    expect(await q.endToken('a')).to.equal(true);
    // A slot is free but b waits for the tick: c must queue behind b.
    const c = await q.issueToken('c');
    expect(c).to.include({ status: 'WAITING', position: 2 });
    expect(await q.admitWaiting()).to.equal(1);
    expect((await q.getStatus(b.token, 'b')).status).to.equal('ACTIVE');
    expect(await q.getStatus(c.token, 'c')).to.include({ status: 'WAITING', position: 1 });
    expect(await reasonOf(q.getStatus(a.token, 'a'))).to.equal('QUEUE_TOKEN_EXPIRED');
  });

  it('admits the earliest waiting tokens when active ones end, up to the cap', async () => {
    const q = room({ maxActive: 2 });
    const tokens: IssuedToken[] = [];
    for (const u of ['a', 'b', 'c', 'd', 'e']) tokens.push(await q.issueToken(u));
    expect(await q.admitWaiting()).to.equal(0);
    expect(await q.endToken('a')).to.equal(true);
    expect(await q.endToken('a')).to.equal(false);
    expect(await q.admitWaiting()).to.equal(1);
    expect((await q.getStatus(tokens[2].token, 'c')).status).to.equal('ACTIVE');
    expect((await q.getStatus(tokens[3].token, 'd')).position).to.equal(1);
    await q.validateToken(tokens[2].token, 'c');
    // Admission (which builds key names in Lua) moved c's keys to the active lifetime + a day.
    const day = 24 * 3600 * 1000;
    expect(await t.redis.pttl('queue:user:c')).to.be.within(600_000 + day - 5000, 600_000 + day);
    const cId = tokens[2].token.split('.')[0];
    expect(await t.redis.pttl(`queue:token:${cId}`)).to.be.within(
      600_000 + day - 5000,
      600_000 + day,
    );
    expect(await reasonOf(q.validateToken(tokens[3].token, 'd'))).to.equal(
      'QUEUE_TOKEN_NOT_ACTIVE',
    );
    expect(await q.stats()).to.deep.equal({ waiting: 2, active: 2 });
    // Ending a waiting token takes it out of line; the others move up.
    expect(await q.endToken('d')).to.equal(true);
    expect((await q.getStatus(tokens[4].token, 'e')).position).to.equal(1);
  });

  it('returns the same token to a user who issues again while it is valid', async () => {
    const q = room({ maxActive: 1 });
    const a1 = await q.issueToken('a');
    const a2 = await q.issueToken('a');
    expect(a2.token).to.equal(a1.token);
    expect(a2).to.include({ existing: true, status: 'ACTIVE', position: 0 });
    const b1 = await q.issueToken('b');
    const b2 = await q.issueToken('b');
    expect(b2.token).to.equal(b1.token);
    expect(b2).to.include({ existing: true, status: 'WAITING', position: 1 });
    // Concurrent repeats still agree on one token.
    const burst = await Promise.all(Array.from({ length: 20 }, () => q.issueToken('c')));
    expect(new Set(burst.map((x) => x.token)).size).to.equal(1);
    expect(burst.filter((x) => !x.existing)).to.have.length(1);
    // Once ended, issuing gives a fresh token.
    await q.endToken('a');
    const a3 = await q.issueToken('a');
    expect(a3.token).to.not.equal(a1.token);
    expect(a3.existing).to.equal(false);
  });

  it('answers every token error with its reason', async () => {
    const q = room({ maxActive: 1 });
    const a = await q.issueToken('a');
    const b = await q.issueToken('b');
    expect(await reasonOf(q.getStatus(undefined, 'a'))).to.equal('QUEUE_TOKEN_REQUIRED');
    expect(await reasonOf(q.validateToken('', 'a'))).to.equal('QUEUE_TOKEN_REQUIRED');
    expect(await reasonOf(q.getStatus('not-a-token', 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    expect(await reasonOf(q.validateToken('not-a-token', 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    const forged = mintToken('some-other-secret').token;
    expect(await reasonOf(q.getStatus(forged, 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    expect(await reasonOf(q.validateToken(forged, 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    const unknown = mintToken(SECRET).token; // well-formed and correctly tagged, never issued
    expect(await reasonOf(q.getStatus(unknown, 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    expect(await reasonOf(q.validateToken(unknown, 'a'))).to.equal('QUEUE_TOKEN_INVALID');
    expect(await reasonOf(q.getStatus(a.token, 'b'))).to.equal('QUEUE_TOKEN_USER_MISMATCH');
    expect(await reasonOf(q.validateToken(a.token, 'b'))).to.equal('QUEUE_TOKEN_USER_MISMATCH');
    expect(await reasonOf(q.validateToken(b.token, 'b'))).to.equal('QUEUE_TOKEN_NOT_ACTIVE');
    expect(await reasonOf(q.validateToken(a.token, 'a'))).to.equal(undefined);
    expect(await q.endToken('a')).to.equal(true);
    expect(await reasonOf(q.getStatus(a.token, 'a'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await reasonOf(q.validateToken(a.token, 'a'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await reasonOf(q.validateToken(a.token, 'bad user!'))).to.equal('INVALID_ARGUMENT');
    expect(await reasonOf(q.endToken(''))).to.equal('INVALID_ARGUMENT');
  });

  it('expires an active token activeTtlSeconds after activation and frees its slot', async () => {
    const q = room({ maxActive: 1, activeTtlSeconds: 1 });
    const a = await q.issueToken('a');
    const b = await q.issueToken('b');
    expect(a.status).to.equal('ACTIVE');
    expect(a.expiresAt.getTime() - Date.now()).to.be.within(500, 1500);
    await sleep(1100);
    expect(await reasonOf(q.validateToken(a.token, 'a'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await reasonOf(q.getStatus(a.token, 'a'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await q.endToken('a')).to.equal(false);
    expect(await q.admitWaiting()).to.equal(1);
    expect((await q.getStatus(b.token, 'b')).status).to.equal('ACTIVE');
    // An expired token no longer counts as held: issuing again gives a new one.
    const a2 = await q.issueToken('a');
    expect(a2.token).to.not.equal(a.token);
    expect(a2).to.include({ existing: false, status: 'WAITING', position: 1 });
  });

  it('drops a waiting token that is not polled for idleTimeoutSeconds; polling keeps it', async () => {
    const q = room({ maxActive: 1, idleTimeoutSeconds: 1 });
    await q.issueToken('a');
    const b = await q.issueToken('b');
    const c = await q.issueToken('c');
    expect(c.expiresAt.getTime() - Date.now()).to.be.within(500, 1500);
    await sleep(600);
    const polled = await q.getStatus(c.token, 'c');
    expect(polled.expiresAt.getTime()).to.be.greaterThan(c.expiresAt.getTime());
    await sleep(600);
    // b went 1.2 s without a poll; c was polled 0.6 s ago and moves up.
    expect(await reasonOf(q.getStatus(b.token, 'b'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await reasonOf(q.validateToken(b.token, 'b'))).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(await q.getStatus(c.token, 'c')).to.include({ status: 'WAITING', position: 1 });
    expect(await q.stats()).to.deep.equal({ waiting: 1, active: 1 });
    await q.endToken('a');
    expect(await q.admitWaiting()).to.equal(1);
    expect((await q.getStatus(c.token, 'c')).status).to.equal('ACTIVE');
    // The idle timeout is for the line only: an active token lives its full TTL unpolled.
    await sleep(1100);
    expect(await reasonOf(q.validateToken(c.token, 'c'))).to.equal(undefined);
  });

  it('keeps the cap and issue order with two instances issuing and ticking at once', async () => {
    const max = 50;
    const total = 200;
    const one = room({ maxActive: max });
    const two = otherInstance({ maxActive: max });
    const rooms = [one, two];
    // 200 users issue concurrently while both instances tick over and over.
    const ops: Promise<unknown>[] = [];
    const issues: Promise<IssuedToken>[] = [];
    for (let i = 0; i < total; i++) {
      const p = rooms[i % 2].issueToken(`user${i}`);
      issues.push(p);
      ops.push(p);
      if (i % 5 === 0) ops.push(rooms[(i + 1) % 2].admitWaiting());
    }
    await Promise.all(ops);
    const tokens = (await Promise.all(issues)).map((tok, i) => ({ ...tok, user: `user${i}` }));
    expect(new Set(tokens.map((x) => x.ticket)).size).to.equal(total);
    expect(await one.stats()).to.deep.equal({ waiting: total - max, active: max });

    const byTicket = [...tokens].sort((x, y) => x.ticket - y.ticket);
    const statusOf = async (x: (typeof tokens)[number]) =>
      (x.ticket % 2 ? one : two).getStatus(x.token, x.user);
    let views = await Promise.all(byTicket.map(statusOf));
    // The first 50 issued are the active ones; the rest wait in exactly issue order.
    expect(views.slice(0, max).every((v) => v.status === 'ACTIVE')).to.equal(true);
    expect(views.slice(max).map((v) => v.position)).to.deep.equal(
      Array.from({ length: total - max }, (_, i) => i + 1),
    );

    // 30 active users finish; both instances race to fill the 30 slots.
    await Promise.all(byTicket.slice(0, 30).map((x, i) => rooms[i % 2].endToken(x.user)));
    const admitted = await Promise.all(
      Array.from({ length: 20 }, (_, i) => rooms[i % 2].admitWaiting()),
    );
    expect(admitted.reduce((a, b) => a + b, 0)).to.equal(30);
    expect(await two.stats()).to.deep.equal({ waiting: total - max - 30, active: max });
    views = await Promise.all(byTicket.slice(30).map(statusOf));
    expect(views.slice(0, max).every((v) => v.status === 'ACTIVE')).to.equal(true);
    expect(views.slice(max).map((v) => v.position)).to.deep.equal(
      Array.from({ length: total - max - 30 }, (_, i) => i + 1),
    );
  });
});
