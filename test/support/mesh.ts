// Starts the real mesh (node dist/cmd/mesh.js) as child processes on free ports, with its own
// databases and Redis key prefix, and removes them again (ops/mesh-runner.ts does the process
// work). End-to-end tests talk to it only through the gateway, over HTTP, as a client would.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config';
import { REPO_ROOT } from '../../lib/paths';
import { IDENTITIES } from '../../lib/trust/keys';
import { loadTrust, type Trust } from '../../lib/trust/trust';
import {
  MeshRunner,
  assertBuilt,
  launch,
  meshEnv,
  type GroupSpec,
  type MeshOptions,
} from '../../ops/mesh-runner';

export { freePort } from '../../ops/isolation';
export { meshEnv, type MeshOptions } from '../../ops/mesh-runner';

const LOG_DIR = join(REPO_ROOT, '.run', 'test-logs');

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

/** A running mesh, and requests to its gateway. */
export class Mesh extends MeshRunner {
  /** The mesh's keys (development keys, derived from its MESH_SECRET): a test may call a
   * service directly as any identity. */
  trust(): Trust {
    const config = loadConfig(this.env);
    return loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, IDENTITIES);
  }

  /**
   * Restarts a process group with these failpoints armed ('' disarms; lib/failpoints.ts), and
   * waits until it has started and the mesh is ready again. (The gateway's readiness covers only
   * the services behind its routes: not the payment service, say.)
   */
  async arm(group: string, failpoints: string): Promise<void> {
    await this.kill(group);
    this.restart(group, { FAILPOINTS: failpoints });
    await this.waitStarted(group);
    await this.waitReady();
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

/**
 * Starts the mesh. By default one process hosts everything; crash tests pass process groups
 * (e.g. the coordinator alone) so they can kill -9 and restart one of them.
 */
export async function startMesh(
  overrides: Record<string, string> = {},
  groups?: GroupSpec[],
  opts: MeshOptions = {},
): Promise<Mesh> {
  assertBuilt();
  mkdirSync(LOG_DIR, { recursive: true });
  const { env, id, vhost } = await meshEnv(overrides, opts);
  return launch(new Mesh(env, id, join(LOG_DIR, `${id}.log`), vhost, groups));
}
