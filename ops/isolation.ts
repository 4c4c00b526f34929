// Per-run isolation on the shared MariaDB, Redis and RabbitMQ of a machine: a run (a test, a
// chaos run) gets its own databases, key prefix and vhost, and removes them again afterwards.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { DB_SERVICES, loadConfig, type Config, type DbConfig } from '../lib/config';
import { dropDatabase, serverConnection } from '../lib/db';
import { REPO_ROOT } from '../lib/paths';
import { createRedis } from '../lib/redis';

/** A name unique to this run, usable in database names, key prefixes and vhost names. */
export function runId(): string {
  return `bt${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

const LOWEST_PORT = 10000;
const handedOut = new Set<number>();

/**
 * A TCP port nobody listens on right now, for a child process to listen on soon. Taken below
 * the ephemeral range: a port the OS picked (listen on 0) is one it may also give any outgoing
 * connection before the child listens (EADDRINUSE), and a mesh opens hundreds of them. Below
 * that range only another listener can take it, and each port is handed out once per process.
 */
export async function freePort(range?: { from: number; below: number }): Promise<number> {
  const { from, below } = range ?? { from: LOWEST_PORT, below: await ephemeralPortsFrom() };
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = from + randomInt(below - from);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${from} and ${below - 1}`);
}

/** The first of `n` consecutive free ports (a process and the next after it, say). */
export async function freePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort();
    const next = Array.from({ length: n - 1 }, (_, i) => first + 1 + i);
    const free = await Promise.all(
      next.map((p) => (handedOut.has(p) ? Promise.resolve(false) : canListen(p))),
    );
    if (free.every(Boolean)) {
      for (const p of next) handedOut.add(p);
      return first;
    }
  }
  throw new Error(`no ${n} consecutive free ports`);
}

/** The first port the OS gives outgoing connections (Linux; its default elsewhere). */
async function ephemeralPortsFrom(): Promise<number> {
  try {
    const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const low = Number(range.trim().split(/\s+/)[0]);
    // A range that starts this low leaves no room below it: Linux's default start, then.
    return low > LOWEST_PORT + 1000 ? low : 32768;
  } catch {
    return 32768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const raw = createRedis(url, '');
  try {
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await raw.del(...keys);
    } while (cursor !== '0');
  } finally {
    raw.disconnect();
  }
}

export interface RunVhost {
  /** AMQP URL of the run's own vhost on the configured broker. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A RabbitMQ vhost of this run's own (scripts/infra.sh vhost), deleted by drop(). */
export async function runVhost(name = runId()): Promise<RunVhost> {
  await infraVhost('add', name);
  return existingVhost(name);
}

/** A handle on a vhost made earlier (by a run kept for inspection). */
export function existingVhost(name: string): RunVhost {
  const base = new URL(loadConfig().amqpUrl);
  base.pathname = `/${encodeURIComponent(name)}`;
  return { url: base.toString(), name, drop: () => infraVhost('delete', name) };
}

function infraVhost(action: 'add' | 'delete', name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(REPO_ROOT, 'scripts', 'infra.sh'), 'vhost', action, name],
      (err, _out, stderr) =>
        err ? reject(new Error(`vhost ${action} ${name}: ${stderr || err.message}`)) : resolve(),
    );
  });
}

export interface PreparedBranch {
  gid: string;
  bqual: string;
  formatID: number;
}

/** One row of `XA RECOVER`: the gid and the bqual are both in data. */
export interface XaRecoverRow {
  formatID: number;
  gtrid_length: number;
  bqual_length: number;
  data: Buffer | string;
}

/** An `XA RECOVER` row split into gid and bqual (the participant's database name). */
export function preparedBranch(r: XaRecoverRow): PreparedBranch {
  const data = Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
  return {
    gid: data.subarray(0, r.gtrid_length).toString(),
    bqual: data.subarray(r.gtrid_length, r.gtrid_length + r.bqual_length).toString(),
    formatID: r.formatID,
  };
}

/** `XA RECOVER` on a server, split into gid and bqual. */
export async function preparedBranches(conn: mysql.Connection): Promise<PreparedBranch[]> {
  const [rows] = await conn.query('XA RECOVER');
  return (rows as XaRecoverRow[]).map(preparedBranch);
}

/**
 * Rolls back the prepared branches of these databases (bquals): a prepared branch holds
 * metadata locks, so DROP DATABASE would wait on it for a day.
 */
export async function rollbackPrepared(server: DbConfig, bquals: Set<string>): Promise<void> {
  const conn = await serverConnection(server);
  try {
    for (const b of await preparedBranches(conn)) {
      if (bquals.has(b.bqual))
        await conn
          .query('XA ROLLBACK ?, ?, ?', [b.gid, b.bqual, b.formatID])
          .catch(() => undefined);
    }
  } finally {
    await conn.end();
  }
}

/**
 * Removes what a run made on the servers: its prepared branches, databases, keys and vhost.
 * The vhost, the databases and the keys are each tried even when another fails, so one failure
 * leaves no more behind than itself; the first failure is then thrown. The databases are
 * dropped only once their prepared branches are gone (a drop would wait on one for a day).
 */
export async function removeRun(config: Config, vhost: RunVhost | undefined): Promise<void> {
  const databases = async () => {
    await rollbackPrepared(
      config.db.concert,
      new Set(DB_SERVICES.map((s) => config.db[s].database)),
    );
    for (const svc of DB_SERVICES) await dropDatabase(config.db[svc]);
  };
  const results = await Promise.allSettled([
    vhost?.drop(),
    databases(),
    deleteKeys(config.redis.url, config.redis.keyPrefix),
  ]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
