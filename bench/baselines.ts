// The baselines served by a process of their own: the monolith (bench/monolith.ts) as a flow
// target, the bare status server (bench/bare.ts) and the bare gRPC server (bench/bareGrpc.ts).
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { QueueServiceService } from '../gen/boxoffice/queue/v1/queue';
import { loadConfig } from '../lib/config';
import type { Database } from '../lib/db';
import { ChannelPool } from '../lib/grpc/client';
import { CALLER_METADATA } from '../lib/trust/caller';
import { loadTrust } from '../lib/trust/trust';
import { REPO_ROOT } from '../lib/paths';
import {
  Databases,
  MONOLITH_MIGRATIONS,
  UserIds,
  dbConfig,
  seedSeats,
  seedWallets,
  signUsers,
  type Hold,
  type Seat,
  type User,
} from './fixtures';
import { withDescendants } from './lib/cpu';
import { startChild, type ChildServer } from './lib/child';
import { HttpClient } from './lib/http';
import { call, type Answer, type FlowTarget } from './target';

const DIST = join(REPO_ROOT, 'dist', 'bench');

export class MonolithTarget implements FlowTarget {
  readonly name = 'monolith' as const;
  readonly client: HttpClient;
  private readonly ids: UserIds;

  private constructor(
    private readonly server: ChildServer,
    private readonly dbs: Databases,
    private readonly db: Database,
    tag: string,
    users: number,
  ) {
    this.client = new HttpClient(server.url, Math.max(64, users * 2));
    this.ids = new UserIds(`${tag}m`);
  }

  /** `workers` node:cluster processes, as many as the mesh runs (MESH_PROCESSES). */
  static async start(tag: string, users: number, workers: number): Promise<MonolithTarget> {
    const dbs = new Databases();
    try {
      const cfg = dbConfig(`${tag}_monolith`, 4);
      const db = await dbs.create(cfg, MONOLITH_MIGRATIONS);
      const server = await startChild(join(DIST, 'monolith.js'), {
        BENCH_DB: cfg.database,
        BENCH_POOL: String(users + 4),
        BENCH_WORKERS: String(workers),
      });
      return new MonolithTarget(server, dbs, db, tag, users);
    } catch (err) {
      await dbs.drop();
      throw err;
    }
  }

  get url(): string {
    return this.server.url;
  }

  pids(): number[] {
    // Its cluster workers too.
    return this.server.pid === undefined ? [] : withDescendants([this.server.pid]);
  }

  async users(n: number): Promise<User[]> {
    const ids = this.ids.next(n);
    await seedWallets(this.db, ids);
    return signUsers(ids);
  }

  seats(n: number): Promise<Seat[]> {
    return seedSeats(this.db, n, 'Bench Monolith Night');
  }

  reserve(user: User, seat: Seat): Promise<Answer> {
    return call(
      () =>
        this.client.request('POST', '/reserve', {
          headers: { authorization: `Bearer ${user.jwt}` },
          body: { concertId: seat.concertId, date: seat.date, seatNumber: seat.seatNumber },
        }),
      201,
    );
  }

  pay(hold: Hold): Promise<Answer> {
    return call(
      () =>
        this.client.request('POST', '/pay', {
          headers: { authorization: `Bearer ${hold.user.jwt}` },
          body: { reservationId: hold.reservationId },
        }),
      201,
    );
  }

  async close(): Promise<void> {
    this.client.close();
    await this.server.stop();
    await this.dbs.drop();
  }
}

/** The bare node:http status server. */
export function startBare(): Promise<ChildServer> {
  return startChild(join(DIST, 'bare.js'), {});
}

/** One gRPC call as the mesh makes it, to a server that does nothing with it. */
export class BareGrpcTarget {
  private readonly channels = new ChannelPool(5000);
  private readonly queue;
  private readonly gateway;

  private constructor(private readonly server: ChildServer) {
    const config = loadConfig();
    const trust = loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, [
      'gateway',
    ]);
    this.gateway = trust.signer('gateway');
    this.queue = this.channels.client(
      QueueServiceService,
      server.url.replace('http://', ''),
      this.gateway,
    );
  }

  static async start(): Promise<BareGrpcTarget> {
    return new BareGrpcTarget(await startChild(join(DIST, 'bareGrpc.js'), {}));
  }

  pids(): number[] {
    return this.server.pid === undefined ? [] : [this.server.pid];
  }

  /** The gateway's token check, naming its user in the gateway's signed identity as it does. */
  async call(vu: number): Promise<void> {
    const metadata = new Metadata();
    metadata.set(CALLER_METADATA, this.gateway.token({ userId: `vu${vu}`, role: 'user' }));
    await this.queue.validateToken({ token: 'bench' }, { metadata });
  }

  async close(): Promise<void> {
    this.channels.close();
    await this.server.stop();
  }
}
