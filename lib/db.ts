// A service's MySQL database: typeorm owns the schema (versioned migrations); the service's
// statements run on a mysql2 pool directly — no ORM on hot paths, and full control of
// connections, which XA branches need.
import mysql, {
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { DataSource, type MigrationInterface } from 'typeorm';
import type { DbConfig } from './config';

export type Migration = new () => MigrationInterface;
export type Row = RowDataPacket;
export type SqlParam = string | number | boolean | null | Date | Buffer;

/** What a repository needs: the pool, or one connection inside a transaction. */
export interface Sql {
  query<T = Row>(sql: string, params?: SqlParam[]): Promise<T[]>;
  execute(sql: string, params?: SqlParam[]): Promise<ResultSetHeader>;
  /**
   * A write whose result decides nothing (an outbox row, a barrier's stored result). Inside a
   * transaction it is held and sent in the round trip that commits (or prepares), so it costs
   * no round trip of its own, and its failure fails the commit; on the pool it runs at once.
   */
  writeAtEnd(sql: string, params?: SqlParam[]): Promise<void>;
  /**
   * A conditional change and a read of the rows it decided on, in one round trip: how many rows
   * it changed, and the rows as they are after it (to answer with, or to say why nothing
   * changed).
   */
  changeAndRead<T = Row>(change: Statement, read: Statement): Promise<ChangeAndRead<T>>;
}

export interface ChangeAndRead<T> {
  changed: number;
  rows: T[];
}

/** mysql2's callback interface, which the promise wrapper calls underneath. */
interface CallbackQuery {
  query(sql: string, params: SqlParam[], done: (err: Error | null, result: unknown) => void): void;
}

export interface Statement {
  sql: string;
  params: SqlParam[];
}

/**
 * Queries go to mysql2's callback interface: its promise wrapper captures a stack trace per
 * query, a twentieth of the mesh's CPU under load (docs/performance.md), and our errors are
 * classified by errno, never by stack.
 */
function send<R>(core: CallbackQuery, statements: Statement[]): Promise<R> {
  const sql = statements.map((s) => s.sql).join(';\n');
  const params = statements.flatMap((s) => s.params);
  return new Promise((resolve, reject) => {
    core.query(sql, params, (err, result) => (err ? reject(err) : resolve(result as R)));
  });
}

/** Sends statements in one round trip and answers each one's result, in order. */
async function sendAll(core: CallbackQuery, statements: Statement[]): Promise<unknown[]> {
  const result = await send<unknown>(core, statements);
  return statements.length > 1 ? (result as unknown[]) : [result];
}

function changeAndReadOf<T>([change, rows]: unknown[]): ChangeAndRead<T> {
  return { changed: (change as ResultSetHeader).affectedRows, rows: rows as T[] };
}

/** The pool's Sql: every statement on its own, autocommitted. */
function poolSql(pool: Pool): Sql {
  const core: CallbackQuery = pool.pool;
  return {
    query: <T>(sql: string, params: SqlParam[] = []) => send<T[]>(core, [{ sql, params }]),
    execute: (sql: string, params: SqlParam[] = []) =>
      send<ResultSetHeader>(core, [{ sql, params }]),
    writeAtEnd: async (sql: string, params: SqlParam[] = []) => {
      await send(core, [{ sql, params }]);
    },
    changeAndRead: async <T>(change: Statement, read: Statement) =>
      changeAndReadOf<T>(await sendAll(core, [change, read])),
  };
}

/**
 * The statements of one transaction on one connection, in as few round trips as the protocol
 * allows (each costs a write, a wake-up and a read on both sides, docs/performance.md): the
 * opening statement (START TRANSACTION) travels with the first statement, and writes nobody
 * reads travel with the closing ones (COMMIT, or XA END + XA PREPARE). The pool allows
 * multiple statements per round trip for this; every value still goes through placeholders.
 */
export class Session implements Sql {
  private held: Statement[] = [];
  /** True once a statement went to the server (so the transaction may be open there). */
  touched = false;

  constructor(
    private readonly core: CallbackQuery,
    /** Sent with the first statement, then emptied. */
    private opening: Statement[] = [],
  ) {}

  static on(conn: PoolConnection, opening: Statement[] = []): Session {
    return new Session(conn.connection, opening);
  }

  async query<T = Row>(sql: string, params: SqlParam[] = []): Promise<T[]> {
    const [rows] = await this.run({ sql, params });
    return rows as T[];
  }

  async execute(sql: string, params: SqlParam[] = []): Promise<ResultSetHeader> {
    const [header] = await this.run({ sql, params });
    return header as ResultSetHeader;
  }

  async changeAndRead<T = Row>(change: Statement, read: Statement): Promise<ChangeAndRead<T>> {
    return changeAndReadOf<T>(await this.run(change, read));
  }

  writeAtEnd(sql: string, params: SqlParam[] = []): Promise<void> {
    this.held.push({ sql, params });
    return Promise.resolve();
  }

  /**
   * Sends the held writes and then `closing` in one round trip. When nothing was sent or held,
   * sends nothing unless `always`: a transaction that never started needs no COMMIT.
   */
  async end(closing: Statement[], always = false): Promise<void> {
    if (!always && !this.touched && this.held.length === 0) return;
    const statements = [...this.held, ...closing];
    this.held = [];
    if (statements.length > 0) await this.run(...statements);
  }

  /** Sends statements (after the opening ones, if still due) in one round trip; answers theirs. */
  private async run(...statements: Statement[]): Promise<unknown[]> {
    const opening = this.opening;
    this.opening = [];
    this.touched = true;
    const results = await sendAll(this.core, [...opening, ...statements]);
    return results.slice(opening.length);
  }
}

const START: Statement = { sql: 'START TRANSACTION', params: [] };
const COMMIT: Statement = { sql: 'COMMIT', params: [] };
const ROLLBACK: Statement = { sql: 'ROLLBACK', params: [] };

export class Database implements Sql {
  private readonly sql: Sql;

  constructor(
    readonly pool: Pool,
    readonly name: string,
  ) {
    this.sql = poolSql(pool);
  }

  query<T = Row>(sql: string, params?: SqlParam[]): Promise<T[]> {
    return this.sql.query<T>(sql, params);
  }

  execute(sql: string, params?: SqlParam[]): Promise<ResultSetHeader> {
    return this.sql.execute(sql, params);
  }

  writeAtEnd(sql: string, params?: SqlParam[]): Promise<void> {
    return this.sql.writeAtEnd(sql, params);
  }

  changeAndRead<T = Row>(change: Statement, read: Statement): Promise<ChangeAndRead<T>> {
    return this.sql.changeAndRead<T>(change, read);
  }

  /** Autocommitted statements in one round trip, in order, each answered. */
  async executeAll(statements: Statement[]): Promise<ResultSetHeader[]> {
    return (await sendAll(this.pool.pool, statements)) as ResultSetHeader[];
  }

  /** Runs fn in one local transaction; commits if it resolves, rolls back if it throws. */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    const core: CallbackQuery = conn.connection;
    const tx = new Session(core, [START]);
    try {
      const out = await fn(tx);
      await tx.end([COMMIT]);
      return out;
    } catch (err) {
      if (tx.touched) await send(core, [ROLLBACK]).catch(() => conn.destroy());
      throw err;
    } finally {
      conn.release();
    }
  }

  async ping(): Promise<boolean> {
    await this.pool.query('SELECT 1');
    return true;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/**
 * Every session runs READ COMMITTED. Our transactions are short sequences of conditional writes
 * by key and never rely on a repeatable snapshot, while REPEATABLE READ's extra locks cost us:
 * a conditional UPDATE keeps its lock on a row it did not change (1,000 holds of one seat
 * queued behind each other), and a locking read locks the gap after the last row it read
 * (outbox appends waited for the relay's broker confirms). Under READ COMMITTED neither happens.
 */
const SESSION_SETUP = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED';

export function createPool(cfg: DbConfig, database: string | undefined = cfg.database): Pool {
  const pool = mysql.createPool({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database,
    connectionLimit: cfg.poolSize,
    maxIdle: cfg.poolSize,
    waitForConnections: true,
    timezone: 'Z',
    dateStrings: ['DATE'],
    supportBigNumbers: true,
    bigNumberStrings: false,
    enableKeepAlive: true,
    // Session sends a transaction's opening and closing statements with its others.
    multipleStatements: true,
    // Nothing here prepares statements (query, never execute), but mysql2 gives each connection
    // a cache for them whose arrays are allocated at full size: 16,000 entries, ~0.5 MB a
    // connection, half of a mesh process's heap, marked by every major GC (docs/performance.md).
    maxPreparedStatements: 1,
  });
  // Queued on the new connection ahead of anything its first user sends.
  pool.pool.on('connection', (conn) => conn.query(SESSION_SETUP, () => undefined));
  return pool;
}

/**
 * One connection to the server of `cfg` (the database only when given): for administration,
 * audits and tests — services use their pools.
 */
export function serverConnection(
  cfg: DbConfig,
  opts: { database?: string; dateStrings?: boolean } = {},
): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    password: cfg.password,
    database: opts.database,
    supportBigNumbers: true,
    dateStrings: opts.dateStrings,
  });
}

/** Creates the database if it is missing (utf8mb4). */
export async function ensureDatabase(cfg: DbConfig): Promise<void> {
  const conn = await serverConnection(cfg);
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${cfg.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await conn.end();
  }
}

export async function dropDatabase(cfg: DbConfig): Promise<void> {
  const conn = await serverConnection(cfg);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.database}\``);
  } finally {
    await conn.end();
  }
}

/** How long a process waits for another one's migrations of the same database. */
const MIGRATION_LOCK_SECONDS = 120;

/**
 * Applies pending migrations in order (typeorm's migrations table records them). Safe to repeat,
 * and to run from several processes at once (two coordinators starting together): a named lock
 * on the server lets one migrate while the others wait, then find nothing left to do.
 */
export async function migrate(cfg: DbConfig, migrations: Migration[]): Promise<string[]> {
  await ensureDatabase(cfg);
  const lock = await serverConnection(cfg);
  try {
    const name = `boxoffice.migrate.${cfg.database}`;
    const [rows] = await lock.query('SELECT GET_LOCK(?, ?) AS got', [name, MIGRATION_LOCK_SECONDS]);
    if ((rows as { got: number | null }[])[0]?.got !== 1)
      throw new Error(`${cfg.database}: another process kept migrating it for over 120 s`);
    return await runMigrations(cfg, migrations);
  } finally {
    // Ending the connection releases the lock.
    await lock.end();
  }
}

async function runMigrations(cfg: DbConfig, migrations: Migration[]): Promise<string[]> {
  const ds = new DataSource({
    type: 'mysql',
    host: cfg.host,
    port: cfg.port,
    username: cfg.user,
    password: cfg.password,
    database: cfg.database,
    migrations,
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations();
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}

/** Opens a service's database: migrate when configured to, then a pool. */
export async function openDatabase(
  cfg: DbConfig,
  migrations: Migration[],
  migrateOnStart: boolean,
): Promise<Database> {
  if (migrateOnStart) await migrate(cfg, migrations);
  const db = new Database(createPool(cfg), cfg.database);
  await db.ping();
  return db;
}

/** MySQL duplicate-key error (ER_DUP_ENTRY). */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { errno?: number }).errno === 1062;
}
