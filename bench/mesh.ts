// The mesh under test: started per mode by the end-to-end tests' runner (its own databases, key
// prefix and vhost on free ports), driven only through the gateway, as clients drive it.
import { DEV_JWT_SECRET, loadConfig } from '../lib/config';
import { Database, createPool, serverConnection } from '../lib/db';
import { audit } from '../ops/audit';
import { signAccessToken } from '../gateway/auth';
import { freePorts } from '../ops/isolation';
import { startMesh, type Mesh } from '../test/support/mesh';
import { withDescendants } from './lib/cpu';
import {
  DATES_PER_CONCERT,
  SEATS_PER_DATE,
  SEAT_PRICE,
  UserIds,
  concertDates,
  seatsOf,
  seedWallets,
  signUsers,
  type Hold,
  type Seat,
  type User,
} from './fixtures';
import { grpcCallCount } from './lib/grpcCalls';
import { HttpClient, type HttpResult } from './lib/http';
import type { TxMode } from '../lib/txMode';
import { parseTopology } from './lib/args';
import { sleep } from './lib/load';
import type { CheckResult } from './lib/results';
import { call, type Answer, type FlowTarget } from './target';

export const API = '/api/v1';
/** MariaDB's default max_connections is 151: the mesh's pools stay below this. */
export const CONNECTION_BUDGET = 136;

/**
 * The environment the bench gives a mesh on top of the test runner's (free ports, own
 * databases, quick queue ticks): a waiting room that never throttles the load, holds and tokens
 * that outlive the run, and connection pools sized for `users` concurrent flows.
 */
export function meshSettings(
  mode: TxMode,
  users: number,
  processes: number,
): Record<string, string> {
  const env: Record<string, string> = {
    TX_MODE: mode,
    MESH_PROCESSES: String(processes),
    QUEUE_MAX_ACTIVE: '1000000',
    QUEUE_ACTIVE_TTL_SECONDS: '7200',
    RESERVATION_HOLD_SECONDS: '7200',
  };
  if (mode === 'saga') {
    // A saga step holds one pooled connection for one local transaction, and a flow is at one
    // step at a time: half the flows per database is plenty. XA pools stay idle.
    const pool = Math.min(20, Math.ceil(users / 2) + 4);
    Object.assign(env, { DB_POOL_SIZE: String(pool), XA_POOL_SIZE: '2' });
  } else {
    // An XA branch keeps its connection from XA START to phase 2: a pool smaller than the
    // flows in flight would queue (and, across participants, deadlock until a deadline).
    const xaPool = Math.min(users + 4, Math.floor((CONNECTION_BUDGET - 26) / 4));
    Object.assign(env, {
      XA_POOL_SIZE: String(xaPool),
      DB_POOL_SIZE: '3',
      CONCERT_DB_POOL_SIZE: '4',
      COORDINATOR_DB_POOL_SIZE: '10',
    });
  }
  return env;
}

export interface MeshOptions {
  users: number;
  /** --topology: one, each, or process groups (bench/lib/args.ts). */
  topology: string;
  /** --processes: MESH_PROCESSES with topology one. */
  processes: number;
  /** More environment for every mesh process (experiments). */
  env: Record<string, string>;
  /** Wait for the outboxes to drain between phases (off in smoke runs: nothing is measured). */
  settle: boolean;
}

interface TokenBody {
  token?: string;
  status?: string;
}

export class MeshTarget implements FlowTarget {
  readonly client: HttpClient;
  private readonly setup: HttpClient;
  private readonly ids: UserIds;
  private adminJwt = '';
  private nextDate = 1;

  private constructor(
    readonly name: TxMode,
    readonly mesh: Mesh,
    private readonly point: Database,
    private readonly opts: MeshOptions,
    /** The metrics ports of a mesh of topology one: one per process (MESH_PROCESSES). */
    private readonly metricsPorts: number[] = [],
  ) {
    this.client = new HttpClient(mesh.url, Math.max(64, opts.users * 2));
    this.setup = new HttpClient(mesh.url, 32);
    this.ids = new UserIds(`${mesh.id}${name[0]}`);
  }

  static async start(mode: TxMode, opts: MeshOptions): Promise<MeshTarget> {
    const groups = parseTopology(opts.topology);
    // With topology one, the mesh's one or two processes serve every gRPC server: their metrics
    // count every call of the mesh.
    const metricsPort = groups ? undefined : await freePorts(opts.processes);
    const mesh = await startMesh(
      {
        ...meshSettings(mode, opts.users, opts.processes),
        ...(metricsPort ? { METRICS_PORT: String(metricsPort) } : {}),
        ...opts.env,
      },
      groups,
    );
    const cfg = loadConfig(mesh.env).db.point;
    const point = new Database(createPool({ ...cfg, poolSize: 2 }), cfg.database);
    // A second process (MESH_PROCESSES=2) serves its metrics on the next port.
    const metricsPorts = metricsPort
      ? Array.from({ length: opts.processes }, (_, i) => metricsPort + i)
      : [];
    const target = new MeshTarget(mode, mesh, point, opts, metricsPorts);
    target.adminJwt = await signAccessToken(DEV_JWT_SECRET, {
      userId: 'bench-admin',
      admin: true,
      ttlSeconds: 6 * 3600,
    });
    return target;
  }

  get url(): string {
    return this.mesh.url;
  }

  pids(): number[] {
    // With MESH_PROCESSES=2 a process has a child: its second process.
    return withDescendants(this.mesh.names.flatMap((n) => this.mesh.pid(n) ?? []));
  }

  /**
   * gRPC calls the mesh's servers have handled so far; undefined when the mesh is split into
   * groups or its metrics do not answer (a --mesh-env METRICS_PORT of one's own, say).
   */
  async grpcCalls(): Promise<number | undefined> {
    if (this.metricsPorts.length === 0) return undefined;
    try {
      let sum = 0;
      for (const port of this.metricsPorts) {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
          signal: AbortSignal.timeout(5000),
        });
        if (!res.ok) return undefined;
        sum += grpcCallCount(await res.text());
      }
      return sum;
    } catch {
      return undefined;
    }
  }

  /** Users with points and nothing else (journeys take their own queue token). */
  async walletUsers(n: number): Promise<User[]> {
    const ids = this.ids.next(n);
    await seedWallets(this.point, ids);
    return signUsers(ids);
  }

  /** Users with points and an ACTIVE queue token, issued through the gateway. */
  async users(n: number): Promise<User[]> {
    const users = await this.walletUsers(n);
    await forEachLimit(users, 32, async (u) => {
      const res = await this.issueToken(u, this.setup);
      const body = res.body as TokenBody;
      if (res.status !== 201 || body.status !== 'ACTIVE' || !body.token)
        throw new Error(`queue token for ${u.id}: ${res.status} ${JSON.stringify(res.body)}`);
      u.queueToken = body.token;
    });
    return users;
  }

  /** Concerts created through the admin API, 40 dates × 500 seats each, until `n` seats. */
  async seats(n: number): Promise<Seat[]> {
    const seats: Seat[] = [];
    while (seats.length < n) {
      const count = Math.min(DATES_PER_CONCERT, Math.ceil((n - seats.length) / SEATS_PER_DATE));
      // Each concert its own dates, so schedules never collide within one concert.
      const dates = concertDates(count, this.nextDate);
      this.nextDate += count;
      if (this.nextDate > 3000) this.nextDate = 1;
      const res = await this.setup.request<{ concertId?: string }>(
        'POST',
        `${API}/admin/concerts`,
        {
          headers: { authorization: `Bearer ${this.adminJwt}` },
          body: { title: 'Bench Night', dates, seatsPerDate: SEATS_PER_DATE, price: SEAT_PRICE },
          timeoutMs: 60_000,
        },
      );
      if (res.status !== 201 || !res.body.concertId)
        throw new Error(`create concert: ${res.status} ${JSON.stringify(res.body)}`);
      seats.push(...seatsOf(res.body.concertId, dates, SEATS_PER_DATE));
    }
    return seats;
  }

  /** A concert of one date with `perDate` seats (the hot seat). */
  async smallConcert(perDate: number): Promise<Seat[]> {
    const dates = concertDates(1, this.nextDate++);
    const res = await this.setup.request<{ concertId?: string }>('POST', `${API}/admin/concerts`, {
      headers: { authorization: `Bearer ${this.adminJwt}` },
      body: { title: 'Bench Hot Seat', dates, seatsPerDate: perDate, price: SEAT_PRICE },
    });
    if (res.status !== 201 || !res.body.concertId)
      throw new Error(`create concert: ${res.status} ${JSON.stringify(res.body)}`);
    return seatsOf(res.body.concertId, dates, perDate);
  }

  issueToken(user: User, client = this.client): Promise<HttpResult> {
    return client.request('POST', `${API}/queue/tokens`, {
      headers: { authorization: `Bearer ${user.jwt}` },
      body: {},
    });
  }

  status(user: User, client = this.client): Promise<HttpResult> {
    return client.request('GET', `${API}/queue/status`, { headers: headers(user) });
  }

  seatMap(user: User, seat: Seat, client = this.client): Promise<HttpResult> {
    return client.request('GET', `${API}/concerts/${seat.concertId}/dates/${seat.date}/seats`, {
      headers: headers(user),
    });
  }

  reserveRequest(user: User, seat: Seat, client = this.client): Promise<HttpResult> {
    return client.request('POST', `${API}/reservations`, {
      headers: headers(user),
      body: { concertId: seat.concertId, date: seat.date, seatNumber: seat.seatNumber },
    });
  }

  payRequest(hold: Hold, client = this.client): Promise<HttpResult> {
    return client.request('POST', `${API}/payments`, {
      headers: { ...headers(hold.user), 'idempotency-key': `pay-${hold.reservationId}` },
      body: { reservationId: hold.reservationId },
    });
  }

  reserve(user: User, seat: Seat): Promise<Answer> {
    return call(() => this.reserveRequest(user, seat), 201);
  }

  pay(hold: Hold): Promise<Answer> {
    return call(() => this.payRequest(hold), 201);
  }

  /** Until every participant's outbox is relayed (the events of the last phase are out). */
  async settle(timeoutMs = 20_000): Promise<void> {
    if (!this.opts.settle) return;
    const cfg = loadConfig(this.mesh.env).db;
    const conn = await serverConnection(cfg.concert);
    try {
      const sql = (['concert', 'reservation', 'payment', 'point'] as const)
        .map((s) => `SELECT COUNT(*) AS n FROM \`${cfg[s].database}\`.outbox WHERE sent_at IS NULL`)
        .join(' UNION ALL ');
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [rows] = await conn.query(sql);
        const pending = (rows as { n: number }[]).reduce((a, r) => a + Number(r.n), 0);
        if (pending === 0 || Date.now() > until) break;
        await sleep(200);
      }
    } finally {
      await conn.end();
    }
    // Consumers finish what the relays just published.
    await sleep(500);
  }

  /** ops/audit's invariants across the service databases, once no transaction is open. */
  async audit(quietMs = 20_000): Promise<CheckResult[]> {
    const config = loadConfig(this.mesh.env);
    const until = Date.now() + quietMs;
    let result = await audit(config);
    while (!result.every((c) => c.ok) && Date.now() < until) {
      await sleep(250);
      result = await audit(config);
    }
    return result.map((c) => ({
      name: `${this.name} audit: ${c.name}`,
      ok: c.ok,
      detail: c.ok ? 'ok' : c.details.join('; '),
    }));
  }

  async close(): Promise<void> {
    this.client.close();
    this.setup.close();
    await this.point.close().catch(() => undefined);
    await this.mesh.destroy();
  }
}

export function headers(user: User): Record<string, string> {
  const h: Record<string, string> = { authorization: `Bearer ${user.jwt}` };
  if (user.queueToken) h['x-queue-token'] = user.queueToken;
  return h;
}

/** Runs fn over items with at most `limit` at once; the first failure rejects. */
export async function forEachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
