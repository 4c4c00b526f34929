// Starts the real mesh (node dist/cmd/mesh.js) as a child process on free ports, with its own
// databases and Redis key prefix, and removes them again. End-to-end tests talk to it only
// through the gateway, over HTTP, as a client would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { DB_SERVICES, GRPC_SERVICES, loadConfig, type DbConfig } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import { REPO_ROOT } from '../../lib/paths';
import { deleteKeys, runId, testVhost, type TestVhost } from './infra';

const MESH_JS = join(REPO_ROOT, 'dist', 'cmd', 'mesh.js');
const LOG_DIR = join(REPO_ROOT, '.run', 'test-logs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  queueToken?: string;
  body?: unknown;
  /** Sent as is (for malformed JSON tests). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One OS process of the mesh, hosting the services named in its SERVICES. */
interface Group {
  name: string;
  services: string;
  env: Record<string, string>;
  child?: ChildProcess;
}

export class Mesh {
  readonly url: string;
  private readonly groups: Group[];

  constructor(
    readonly env: Record<string, string>,
    readonly id: string,
    readonly logFile: string,
    private readonly vhost: TestVhost | undefined,
    groups: { name: string; services: string; env?: Record<string, string> }[] = [
      { name: 'mesh', services: 'all' },
    ],
  ) {
    this.url = `http://127.0.0.1:${env.GATEWAY_PORT}`;
    this.groups = groups.map((g) => ({ ...g, env: g.env ?? {} }));
  }

  /** Starts every process and waits until /readyz answers 200. */
  async start(timeoutMs = 45_000): Promise<void> {
    for (const g of this.groups) this.spawn(g);
    await this.waitReady(timeoutMs);
  }

  private spawn(g: Group, extraEnv: Record<string, string> = {}): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const env = { ...this.env, ...g.env, ...extraEnv, SERVICES: g.services };
    const child = spawn(process.execPath, [MESH_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    g.child = child;
  }

  /** Waits until the gateway reports every downstream service SERVING. */
  async waitReady(timeoutMs = 45_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const dead = this.groups.find(
        (g) => g.child && g.child.exitCode !== null && g.child.signalCode === null,
      );
      if (dead)
        throw new Error(
          `process ${dead.name} exited with ${dead.child!.exitCode}; see ${this.logFile}`,
        );
      try {
        const res = await fetch(`${this.url}/readyz`);
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`mesh not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  private group(name: string): Group {
    const g = this.groups.find((x) => x.name === name);
    if (!g) throw new Error(`no process group ${name}`);
    return g;
  }

  /** Resolves when the group's process has exited (e.g. at a failpoint), with its signal. */
  async exited(name: string, timeoutMs = 30_000): Promise<NodeJS.Signals | number | null> {
    const child = this.group(name).child;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null)
      return child.signalCode ?? child.exitCode;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} still running after ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(signal ?? code);
      });
    });
  }

  /** kill -9 one process. */
  async kill(name: string): Promise<void> {
    const child = this.group(name).child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = this.exited(name);
    child.kill('SIGKILL');
    await gone;
  }

  /** Starts a stopped process again (optionally with other env, e.g. no failpoints). */
  restart(name: string, env: Record<string, string> = {}): void {
    const g = this.group(name);
    g.env = { ...g.env, ...env };
    this.spawn(g);
  }

  /** SIGTERM every process and wait for clean exits; resolves with their exit codes. */
  async stop(): Promise<(number | null)[]> {
    return Promise.all(
      this.groups.map(async (g) => {
        const child = g.child;
        if (!child || child.exitCode !== null || child.signalCode !== null)
          return child?.exitCode ?? null;
        const done = new Promise<number | null>((resolve) =>
          child.once('exit', (code) => resolve(code)),
        );
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await done;
        clearTimeout(timer);
        return code;
      }),
    );
  }

  /** Removes this run's databases, Redis keys and vhost (and any XA branch a failed test left prepared). */
  async destroy(): Promise<void> {
    await this.stop();
    await this.vhost?.drop();
    const config = loadConfig(this.env);
    await rollbackPrepared(
      config.db.concert,
      new Set(DB_SERVICES.map((s) => config.db[s].database)),
    );
    for (const svc of DB_SERVICES) await dropDatabase(config.db[svc]);
    await deleteKeys(config.redis.url, config.redis.keyPrefix);
  }

  async request<T = any>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.queueToken) headers['x-queue-token'] = opts.queueToken;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }
}

/** A prepared branch holds metadata locks: DROP DATABASE would wait on it for a day. */
async function rollbackPrepared(server: DbConfig, bquals: Set<string>): Promise<void> {
  const conn = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
  });
  try {
    const [rows] = await conn.query('XA RECOVER');
    for (const r of rows as {
      formatID: number;
      gtrid_length: number;
      bqual_length: number;
      data: Buffer;
    }[]) {
      const data = Buffer.from(r.data);
      const gid = data.subarray(0, r.gtrid_length).toString();
      const bqual = data.subarray(r.gtrid_length, r.gtrid_length + r.bqual_length).toString();
      if (bquals.has(bqual))
        await conn.query('XA ROLLBACK ?, ?, ?', [gid, bqual, r.formatID]).catch(() => undefined);
    }
  } finally {
    await conn.end();
  }
}

/**
 * Environment of a mesh run: free ports, its own DBs, key prefix and RabbitMQ vhost, its own
 * data-platform mock, quick queue ticks and short consumer retries.
 */
export async function meshEnv(
  overrides: Record<string, string> = {},
  opts: MeshOptions = {},
): Promise<{ env: Record<string, string>; id: string; vhost: TestVhost }> {
  const id = runId();
  const vhost = await testVhost(id);
  const amqp = new URL(vhost.url);
  if (opts.amqpPort) amqp.port = String(opts.amqpPort);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    SERVICES: 'all',
    DB_NAME_PREFIX: `${id}_`,
    REDIS_KEY_PREFIX: `${id}:`,
    GATEWAY_PORT: String(await freePort()),
    QUEUE_ADMIT_INTERVAL_MS: '100',
    AMQP_URL: amqp.toString(),
    DATAPLATFORM_URL: `http://127.0.0.1:${await freePort()}/events`,
    EVENTS_RELAY_POLL_MS: '100',
    EVENTS_RETRY_DELAYS_MS: '200,400,800',
    // Several processes of one mesh (and several meshes) must not fight over one port.
    METRICS_PORT: '0',
  });
  for (const svc of GRPC_SERVICES) env[`${svc.toUpperCase()}_GRPC_PORT`] = String(await freePort());
  for (const svc of GRPC_SERVICES) delete env[`${svc.toUpperCase()}_GRPC_TARGET`];
  Object.assign(env, overrides);
  return { env, id, vhost };
}

/**
 * Starts the mesh. By default one process hosts everything; crash tests pass process groups
 * (e.g. the coordinator alone) so they can kill -9 and restart one of them.
 */
export interface MeshOptions {
  /** Reach RabbitMQ through this local port (a TcpProxy the test controls). */
  amqpPort?: number;
}

export async function startMesh(
  overrides: Record<string, string> = {},
  groups?: { name: string; services: string; env?: Record<string, string> }[],
  opts: MeshOptions = {},
): Promise<Mesh> {
  if (!existsSync(MESH_JS)) throw new Error(`${MESH_JS} is missing: run "make build" first`);
  mkdirSync(LOG_DIR, { recursive: true });
  const { env, id, vhost } = await meshEnv(overrides, opts);
  const mesh = new Mesh(env, id, join(LOG_DIR, `${id}.log`), vhost, groups);
  try {
    await mesh.start();
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}
