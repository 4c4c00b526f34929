// Starts the real mesh (node dist/cmd/mesh.js) as a child process on free ports, with its own
// databases and Redis key prefix, and removes them again. End-to-end tests talk to it only
// through the gateway, over HTTP, as a client would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DB_SERVICES, GRPC_SERVICES, loadConfig } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import { REPO_ROOT } from '../../lib/paths';
import { deleteKeys, runId } from './infra';

const MESH_JS = join(REPO_ROOT, 'dist', 'cmd', 'mesh.js');
const LOG_DIR = join(REPO_ROOT, '.run', 'test-logs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
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

export class Mesh {
  private child: ChildProcess | undefined;
  readonly url: string;

  constructor(
    readonly env: Record<string, string>,
    readonly id: string,
    readonly logFile: string,
  ) {
    this.url = `http://127.0.0.1:${env.GATEWAY_PORT}`;
  }

  /** Starts the process and waits until /readyz answers 200. */
  async start(timeoutMs = 45_000): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [MESH_JS], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`mesh exited with ${code} during start-up; see ${this.logFile}`))),
    );
    const deadline = Date.now() + timeoutMs;
    const ready = (async () => {
      while (Date.now() < deadline) {
        try {
          const res = await fetch(`${this.url}/readyz`);
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`mesh not ready within ${timeoutMs} ms; see ${this.logFile}`);
    })();
    await Promise.race([ready, exited]);
  }

  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await done;
    clearTimeout(timer);
    this.child = undefined;
    return code;
  }

  /** Removes this run's databases and Redis keys. */
  async destroy(): Promise<void> {
    await this.stop();
    const config = loadConfig(this.env);
    for (const svc of DB_SERVICES) await dropDatabase(config.db[svc]);
    await deleteKeys(config.redis.url, config.redis.keyPrefix);
  }

  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
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

/** Environment of a mesh run: free ports, its own DBs and key prefix, quick queue ticks. */
export async function meshEnv(overrides: Record<string, string> = {}): Promise<{ env: Record<string, string>; id: string }> {
  const id = runId();
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
  });
  for (const svc of GRPC_SERVICES) env[`${svc.toUpperCase()}_GRPC_PORT`] = String(await freePort());
  for (const svc of GRPC_SERVICES) delete env[`${svc.toUpperCase()}_GRPC_TARGET`];
  Object.assign(env, overrides);
  return { env, id };
}

export async function startMesh(overrides: Record<string, string> = {}): Promise<Mesh> {
  if (!existsSync(MESH_JS)) throw new Error(`${MESH_JS} is missing: run "make build" first`);
  mkdirSync(LOG_DIR, { recursive: true });
  const { env, id } = await meshEnv(overrides);
  const mesh = new Mesh(env, id, join(LOG_DIR, `${id}.log`));
  try {
    await mesh.start();
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}
