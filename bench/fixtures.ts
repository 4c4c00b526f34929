// Set-up work of the bench, done before a phase and never measured: the baselines' databases,
// users' wallets, seats, and the clean-up of all of it.
import { loadConfig, type DbConfig } from '../lib/config';
import {
  Database,
  createPool,
  dropDatabase,
  migrate,
  type Migration,
  type SqlParam,
} from '../lib/db';
import { newId } from '../lib/ids';
import { rollbackPrepared } from '../ops/isolation';
import { COORDINATOR_MIGRATIONS } from '../coordinator/data/migrations';
import { Concerts } from '../services/concert/data/concerts';
import { CONCERT_MIGRATIONS } from '../services/concert/data/migrations';
import { PAYMENT_MIGRATIONS } from '../services/payment/data/migrations';
import { POINT_MIGRATIONS } from '../services/point/data/migrations';
import { RESERVATION_MIGRATIONS } from '../services/reservation/data/migrations';
import { signAccessToken } from '../gateway/auth';
import { DEV_JWT_SECRET } from '../lib/config';
import type { ParticipantName } from './flows';

/** A seat price every wallet can pay many times over. */
export const SEAT_PRICE = 100;
export const WALLET_POINTS = 1_000_000;
export const SEATS_PER_DATE = 500;
/** Dates per created concert: 20,000 seats, created well within a gRPC deadline. */
export const DATES_PER_CONCERT = 40;

export interface User {
  id: string;
  /** Access token (gateway and monolith). */
  jwt: string;
  /** Waiting-room token, ACTIVE (gateway only). */
  queueToken?: string;
}

export interface Seat {
  concertId: string;
  date: string;
  seatNumber: number;
}

export interface Hold {
  user: User;
  reservationId: string;
}

export const PARTICIPANT_MIGRATIONS: Record<ParticipantName, Migration[]> = {
  concert: CONCERT_MIGRATIONS,
  reservation: RESERVATION_MIGRATIONS,
  payment: PAYMENT_MIGRATIONS,
  point: POINT_MIGRATIONS,
};

/** Every table of the four participants in one database: the monolith's schema. */
export const MONOLITH_MIGRATIONS: Migration[] = [
  ...new Set([
    ...CONCERT_MIGRATIONS,
    ...RESERVATION_MIGRATIONS,
    ...PAYMENT_MIGRATIONS,
    ...POINT_MIGRATIONS,
  ]),
];

export { COORDINATOR_MIGRATIONS };

/** The configured MariaDB server (DB_URL), as a config for `database`. */
export function dbConfig(database: string, poolSize: number): DbConfig {
  return { ...loadConfig().db.concert, database, poolSize };
}

/** Creates and migrates a database of the bench's own; remembers it for clean-up. */
export class Databases {
  private readonly created: DbConfig[] = [];
  private readonly pools: Database[] = [];

  async create(cfg: DbConfig, migrations: Migration[]): Promise<Database> {
    this.created.push(cfg);
    await migrate(cfg, migrations);
    const db = new Database(createPool(cfg), cfg.database);
    this.pools.push(db);
    return db;
  }

  get names(): Set<string> {
    return new Set(this.created.map((c) => c.database));
  }

  /** Closes the pools, rolls back any XA branch left prepared in them, drops the databases. */
  async drop(): Promise<void> {
    await Promise.all(this.pools.splice(0).map((p) => p.close().catch(() => undefined)));
    const all = this.created.splice(0);
    if (all.length === 0) return;
    await rollbackPrepared(all[0], new Set(all.map((c) => c.database)));
    for (const cfg of all) await dropDatabase(cfg);
  }
}

/** User ids unique to this run: `<tag>u<n>`. */
export class UserIds {
  private n = 0;

  constructor(private readonly tag: string) {}

  next(count: number): string[] {
    return Array.from({ length: count }, () => `${this.tag}u${(this.n++).toString(36)}`);
  }
}

/** Access tokens for users, signed as the gateway expects them (the development secret). */
export async function signUsers(ids: string[], secret = DEV_JWT_SECRET): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const batch = ids.slice(i, i + 500);
    users.push(
      ...(await Promise.all(
        batch.map(async (id) => ({
          id,
          jwt: await signAccessToken(secret, { userId: id, admin: false, ttlSeconds: 6 * 3600 }),
        })),
      )),
    );
  }
  return users;
}

/**
 * Wallets with points, written straight into a point database (with the CHARGE ledger row a
 * charge writes, so the balance still equals the ledger): thousands of users in a second.
 */
export async function seedWallets(db: Database, ids: string[]): Promise<void> {
  const now = new Date();
  for (let i = 0; i < ids.length; i += 2000) {
    const batch = ids.slice(i, i + 2000);
    await db.transaction(async (tx) => {
      await tx.execute(
        `INSERT INTO wallet (user_id, balance, updated_at) VALUES ${batch.map(() => '(?, ?, ?)').join(', ')}`,
        batch.flatMap((id): SqlParam[] => [id, WALLET_POINTS, now]),
      );
      await tx.execute(
        `INSERT INTO point_ledger (user_id, type, amount, balance_after, reference, created_at) VALUES ${batch
          .map(() => "(?, 'CHARGE', ?, ?, ?, ?)")
          .join(', ')}`,
        batch.flatMap((id): SqlParam[] => [id, WALLET_POINTS, WALLET_POINTS, 'bench-seed', now]),
      );
    });
  }
}

/** Distinct future dates, one per schedule of a concert: `first` days from today on. */
export function concertDates(count: number, first = 1): string[] {
  const day = 86_400_000;
  const today = Date.UTC(
    new Date().getUTCFullYear(),
    new Date().getUTCMonth(),
    new Date().getUTCDate(),
  );
  return Array.from({ length: count }, (_, i) =>
    new Date(today + (first + i) * day).toISOString().slice(0, 10),
  );
}

/** Every seat of a concert, date by date, seat by seat. */
export function seatsOf(concertId: string, dates: string[], perDate: number): Seat[] {
  return dates.flatMap((date) =>
    Array.from({ length: perDate }, (_, i) => ({ concertId, date, seatNumber: i + 1 })),
  );
}

/**
 * Concerts written straight into a concert (or monolith) database through the service's own
 * repository, as CreateConcert writes them: enough of them for `n` seats.
 */
export async function seedSeats(db: Database, n: number, title: string): Promise<Seat[]> {
  const concerts = new Concerts(db);
  const seats: Seat[] = [];
  while (seats.length < n) {
    const dates = concertDates(
      Math.min(DATES_PER_CONCERT, Math.ceil((n - seats.length) / SEATS_PER_DATE)),
    );
    const now = new Date();
    const id = newId(now.getTime());
    await concerts.create({
      id,
      title,
      createdAt: now,
      bookingOpensAt: new Date(now.getTime() - 60_000),
      seatsPerDate: SEATS_PER_DATE,
      price: SEAT_PRICE,
      schedules: dates.map((date) => ({ id: newId(now.getTime()), date })),
    });
    seats.push(...seatsOf(id, dates, SEATS_PER_DATE));
  }
  return seats;
}
