// The raw database ceilings: the flows' statements run by the load generator's own process on
// mysql2 pools, with no HTTP, no gRPC and no coordinator engine (bench/flows.ts).
//   raw-monolith: one local transaction per flow, on the monolith's one-database schema;
//   raw-saga:     the saga's local transactions with their barrier rows + the coordinator's log;
//   raw-xa:       the XA branches (START … PREPARE, in parallel where the engine runs them in
//                 parallel), the logged decision, phase 2 + the coordinator's log.
import type { DbConfig } from '../lib/config';
import { Database, createPool } from '../lib/db';
import { createLogger } from '../lib/log';
import type { TxMode } from '../lib/txMode';
import { Participant } from '../lib/participant/participant';
import { XaBranches, createXaPool } from '../lib/participant/xa';
import { SqlTxLog } from '../coordinator/engine/log';
import {
  COORDINATOR_MIGRATIONS,
  Databases,
  MONOLITH_MIGRATIONS,
  PARTICIPANT_MIGRATIONS,
  UserIds,
  dbConfig,
  seedSeats,
  seedWallets,
  type Hold,
  type Seat,
  type User,
} from './fixtures';
import {
  PARTICIPANTS,
  monolithPay,
  monolithReserve,
  sagaPay,
  sagaReserve,
  useCases,
  xaPay,
  xaReserve,
  type Distributed,
  type ParticipantName,
  type PayInput,
  type ReserveInput,
} from './flows';
import { CONNECTION_BUDGET } from './mesh';
import { failureOf, type Answer, type FlowTarget } from './target';

const HOLD_SECONDS = 7200;
/** Pool size of the shared participant databases: fixtures only, between phases. */
const SETUP_POOL = 4;
/** innodb_lock_wait_timeout of XA branch connections, as the mesh sets it (XA_LOCK_WAIT_TIMEOUT_SECONDS). */
const XA_LOCK_WAIT_SECONDS = 1;

type RawName = 'raw-monolith' | 'raw-saga' | 'raw-xa';

interface Flows {
  reserve(input: ReserveInput): Promise<{ reservationId: string }>;
  pay(input: PayInput): Promise<unknown>;
}

export class RawTarget implements FlowTarget {
  private readonly ids: UserIds;

  constructor(
    readonly name: RawName,
    private readonly flows: Flows,
    private readonly pointDb: Database,
    private readonly concertDb: Database,
    tag: string,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.ids = new UserIds(`${tag}${name.slice(4, 5)}`);
  }

  /** The statements run from the load generator itself: its CPU is the client's. */
  pids(): number[] {
    return [];
  }

  async users(n: number): Promise<User[]> {
    const ids = this.ids.next(n);
    await seedWallets(this.pointDb, ids);
    return ids.map((id) => ({ id, jwt: '' }));
  }

  seats(n: number): Promise<Seat[]> {
    return seedSeats(this.concertDb, n, `Bench ${this.name}`);
  }

  async reserve(user: User, seat: Seat): Promise<Answer> {
    try {
      const r = await this.flows.reserve({ userId: user.id, ...seat });
      return { ok: true, label: 'ok', reservationId: r.reservationId };
    } catch (err) {
      return failureOf(err);
    }
  }

  async pay(hold: Hold): Promise<Answer> {
    try {
      await this.flows.pay({ userId: hold.user.id, reservationId: hold.reservationId });
      return { ok: true, label: 'ok' };
    } catch (err) {
      return failureOf(err);
    }
  }

  close(): Promise<void> {
    return this.cleanup();
  }
}

/** One database with every participant's tables; each flow one local transaction. */
export async function rawMonolith(tag: string, users: number): Promise<RawTarget> {
  const dbs = new Databases();
  try {
    const db = await dbs.create(dbConfig(`${tag}_raw_monolith`, users + 4), MONOLITH_MIGRATIONS);
    const flows: Flows = {
      reserve: (input) => monolithReserve(db, input, HOLD_SECONDS),
      pay: (input) => monolithPay(db, input, HOLD_SECONDS),
    };
    return new RawTarget('raw-monolith', flows, db, db, tag, () => dbs.drop());
  } catch (err) {
    await dbs.drop();
    throw err;
  }
}

/**
 * The four participant databases and the coordinator's, as the mesh has them: created once and
 * shared by raw-saga and raw-xa (each works on its own seats and users).
 */
export class RawDatabases {
  private constructor(
    private readonly dbs: Databases,
    readonly db: Record<ParticipantName, Database>,
    readonly coordinator: Database,
    readonly cfg: Record<ParticipantName, DbConfig>,
    private readonly tag: string,
    private readonly users: number,
  ) {}

  static async create(tag: string, users: number): Promise<RawDatabases> {
    const dbs = new Databases();
    try {
      const db = {} as Record<ParticipantName, Database>;
      const cfg = {} as Record<ParticipantName, DbConfig>;
      for (const p of PARTICIPANTS) {
        cfg[p] = dbConfig(`${tag}_raw_${p}`, SETUP_POOL);
        db[p] = await dbs.create(cfg[p], PARTICIPANT_MIGRATIONS[p]);
      }
      const coordinator = await dbs.create(
        dbConfig(`${tag}_raw_coordinator`, users + 4),
        COORDINATOR_MIGRATIONS,
      );
      return new RawDatabases(dbs, db, coordinator, cfg, tag, users);
    } catch (err) {
      await dbs.drop();
      throw err;
    }
  }

  /**
   * The saga or XA shape on these databases, with pools of its own, sized like the mesh's: a
   * saga step holds one connection at a time; an XA branch holds one per participant until
   * phase 2, within the server's connection budget.
   */
  target(mode: TxMode): RawTarget {
    const log = createLogger('silent');
    const pools: { end(): Promise<void> }[] = [];
    const branches = new Map<ParticipantName, XaBranches>();
    const participants = {} as Record<ParticipantName, Participant>;
    const db = {} as Record<ParticipantName, Database>;
    const shared = PARTICIPANTS.length * SETUP_POOL + this.users + 4;
    const xaPool = Math.min(
      this.users + 4,
      Math.floor((CONNECTION_BUDGET - shared) / PARTICIPANTS.length),
    );
    for (const p of PARTICIPANTS) {
      let xa: XaBranches | undefined;
      if (mode === 'saga') {
        const pool = createPool({ ...this.cfg[p], poolSize: this.users + 4 });
        pools.push(pool);
        db[p] = new Database(pool, this.cfg[p].database);
      } else {
        db[p] = this.db[p];
        const pool = createXaPool({ ...this.cfg[p], poolSize: xaPool }, XA_LOCK_WAIT_SECONDS, log);
        pools.push(pool);
        xa = new XaBranches(
          pool,
          { bqual: this.cfg[p].database, activeTimeoutMs: 30_000, holdTimeoutMs: 30_000 },
          log,
        );
        branches.set(p, xa);
      }
      participants[p] = new Participant(p, db[p], xa);
    }
    const d: Distributed = {
      use: useCases(db, participants, HOLD_SECONDS),
      log: new SqlTxLog(this.coordinator),
      commit: (p, gid) => branches.get(p)!.commit(gid),
    };
    const flows: Flows =
      mode === 'saga'
        ? { reserve: (i) => sagaReserve(d, i), pay: (i) => sagaPay(d, i) }
        : { reserve: (i) => xaReserve(d, i), pay: (i) => xaPay(d, i) };
    return new RawTarget(
      `raw-${mode}`,
      flows,
      this.db.point,
      this.db.concert,
      this.tag,
      async () => {
        for (const b of branches.values()) await b.close().catch(() => undefined);
        await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      },
    );
  }

  close(): Promise<void> {
    return this.dbs.drop();
  }
}
