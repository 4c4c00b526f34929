// Runs the real mesh (node dist/cmd/mesh.js) as child processes on free ports, with its own
// databases, Redis key prefix and RabbitMQ vhost, and removes them again. Each process group
// hosts the services of its SERVICES and can be killed (-9) and restarted on its own: the
// end-to-end tests and `make chaos` both drive the mesh through this.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GRPC_SERVICES, loadConfig } from '../lib/config';
import { REPO_ROOT } from '../lib/paths';
import { freePort, removeRun, runId, runVhost, type RunVhost } from './isolation';

export const MESH_JS = join(REPO_ROOT, 'dist', 'cmd', 'mesh.js');

/** One OS process of the mesh, hosting the services named in `services` (a SERVICES value). */
export interface GroupSpec {
  name: string;
  services: string;
  env?: Record<string, string>;
}

interface Group {
  name: string;
  services: string;
  env: Record<string, string>;
  child?: ChildProcess;
  /** The current child logged "mesh ready" (every service in it started). */
  started: boolean;
  /** kill() or stop() asked this child to go: its exit is no news. */
  stopping: boolean;
}

/** cmd/mesh.ts logs this once every service of the process has started. */
const STARTED_MARK = '"msg":"mesh ready"';

export class MeshRunner {
  readonly url: string;
  protected readonly groups: Group[];
  private readonly startWaiters = new Set<() => void>();
  /** Called when a process exits that nobody killed or stopped (a crash, a failpoint). */
  onUnexpectedExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void;

  constructor(
    readonly env: Record<string, string>,
    readonly id: string,
    /** Where every process's output goes, unless logFor names a file per group. */
    readonly logFile: string,
    private readonly vhost: RunVhost | undefined,
    groups: GroupSpec[] = [{ name: 'mesh', services: 'all' }],
    private readonly logFor: (group: string) => string = () => logFile,
  ) {
    this.url = `http://127.0.0.1:${env.GATEWAY_PORT}`;
    this.groups = groups.map((g) => ({ ...g, env: g.env ?? {}, started: false, stopping: false }));
  }

  /** The process groups, in start order. */
  get names(): string[] {
    return this.groups.map((g) => g.name);
  }

  /** Starts every process and waits until /readyz answers 200. */
  async start(timeoutMs = 45_000): Promise<void> {
    for (const g of this.groups) this.spawn(g);
    await this.waitReady(timeoutMs);
  }

  private spawn(g: Group, extraEnv: Record<string, string> = {}): void {
    const file = this.logFor(g.name);
    mkdirSync(dirname(file), { recursive: true });
    const log = createWriteStream(file, { flags: 'a' });
    const env = { ...this.env, ...g.env, ...extraEnv, SERVICES: g.services };
    const child = spawn(process.execPath, [MESH_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Both streams write to one file: neither may end it for the other.
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    let tail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (g.started || g.child !== child) return;
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      if (tail.includes(STARTED_MARK)) {
        g.started = true;
        for (const wake of [...this.startWaiters]) wake();
      }
    });
    child.once('close', () => log.end());
    child.once('exit', (code, signal) => {
      if (g.child !== child) return;
      for (const wake of [...this.startWaiters]) wake();
      if (!g.stopping) this.onUnexpectedExit?.(g.name, code, signal);
    });
    g.child = child;
    g.started = false;
    g.stopping = false;
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
          `process ${dead.name} exited with ${dead.child!.exitCode}; see ${this.logFor(dead.name)}`,
        );
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`mesh not ready within ${timeoutMs} ms; see ${this.logFile}`);
  }

  /**
   * Waits until the group's current process has started every service it hosts (also those
   * the gateway's readiness does not cover: consumers, the mock).
   */
  async waitStarted(name: string, timeoutMs = 45_000): Promise<void> {
    const g = this.group(name);
    const level = g.env.LOG_LEVEL ?? this.env.LOG_LEVEL ?? 'info';
    if (!['trace', 'debug', 'info'].includes(level))
      throw new Error(`waitStarted(${name}) reads the "mesh ready" log line: needs LOG_LEVEL info`);
    const deadline = Date.now() + timeoutMs;
    while (!g.started) {
      const child = g.child;
      if (!child || child.exitCode !== null || child.signalCode !== null)
        throw new Error(`process ${name} is not running; see ${this.logFor(name)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`process ${name} not started within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.startWaiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.startWaiters.add(wake);
      });
    }
  }

  protected group(name: string): Group {
    const g = this.groups.find((x) => x.name === name);
    if (!g) throw new Error(`no process group ${name}`);
    return g;
  }

  /** The group's process is running. */
  alive(name: string): boolean {
    const child = this.group(name).child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /** The OS process id of the group's current process. */
  pid(name: string): number | undefined {
    return this.group(name).child?.pid;
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
    const g = this.group(name);
    const child = g.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    g.stopping = true;
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
        g.stopping = true;
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

  /** Removes this run's databases, Redis keys and vhost (and any XA branch left prepared). */
  async destroy(): Promise<void> {
    await this.stop();
    await removeRun(loadConfig(this.env), this.vhost);
  }
}

export interface MeshOptions {
  /** Reach RabbitMQ through this local port (a TCP proxy the caller controls). */
  amqpPort?: number;
}

/**
 * Environment of a mesh run: free ports, its own DBs, key prefix and RabbitMQ vhost, its own
 * data-platform mock, quick queue ticks and short consumer retries.
 */
export async function meshEnv(
  overrides: Record<string, string> = {},
  opts: MeshOptions = {},
): Promise<{ env: Record<string, string>; id: string; vhost: RunVhost }> {
  const id = runId();
  const vhost = await runVhost(id);
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
    // SERVICES=all hosts the mock only for the default URL: this run's own one, on its own port.
    DATAPLATFORM_MOCK: 'on',
    EVENTS_RELAY_POLL_MS: '100',
    EVENTS_RETRY_DELAYS_MS: '200,400,800',
    // Several processes of one mesh (and several meshes) must not fight over one port.
    METRICS_PORT: '0',
    // Each group exactly the processes it names: a test kills and restarts what it started.
    MESH_PROCESSES: '1',
  });
  for (const svc of GRPC_SERVICES) env[`${svc.toUpperCase()}_GRPC_PORT`] = String(await freePort());
  for (const svc of GRPC_SERVICES) delete env[`${svc.toUpperCase()}_GRPC_TARGET`];
  Object.assign(env, overrides);
  return { env, id, vhost };
}

/** Fails early with the fix when dist/ was not built. */
export function assertBuilt(): void {
  if (!existsSync(MESH_JS)) throw new Error(`${MESH_JS} is missing: run "make build" first`);
}

/** Starts the mesh and, should it not come up, removes what it created. */
export async function launch<M extends MeshRunner>(mesh: M, timeoutMs?: number): Promise<M> {
  try {
    await mesh.start(timeoutMs);
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}
