// Per-run isolation on the real MariaDB and Redis of this machine: every test run gets its own
// databases and key prefix, and removes them afterwards.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, type DbConfig, type DbServiceName } from '../../lib/config';
import { Database, createPool, dropDatabase, migrate, type Migration } from '../../lib/db';
import { REPO_ROOT } from '../../lib/paths';
import { createRedis, type Redis } from '../../lib/redis';

/** A name unique to this test run, usable in database names and key prefixes. */
export function runId(): string {
  return `bt${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  db: Database;
  config: DbConfig;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one service, on the configured server (DB_URL). */
export async function testDatabase(
  service: DbServiceName,
  migrations: Migration[],
): Promise<TestDatabase> {
  const base = loadConfig({ ...process.env, DB_NAME_PREFIX: `${runId()}_` }).db[service];
  const config: DbConfig = { ...base, poolSize: 20 };
  await migrate(config, migrations);
  const db = new Database(createPool(config), config.database);
  return {
    db,
    config,
    async drop() {
      await db.close();
      await dropDatabase(config);
    },
  };
}

export interface TestRedis {
  redis: Redis;
  prefix: string;
  cleanup(): Promise<void>;
}

/** A Redis client whose keys all live under a prefix unique to this run. */
export async function testRedis(): Promise<TestRedis> {
  const prefix = `${runId()}:`;
  const url = loadConfig().redis.url;
  const redis = createRedis(url, prefix);
  return {
    redis,
    prefix,
    async cleanup() {
      await deleteKeys(url, prefix);
      redis.disconnect();
    },
  };
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

export interface TestVhost {
  /** AMQP URL of the run's own vhost on the configured broker. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A RabbitMQ vhost of this run's own (scripts/infra.sh vhost), deleted afterwards. */
export async function testVhost(name = runId()): Promise<TestVhost> {
  const base = new URL(loadConfig().amqpUrl);
  await infraVhost('add', name);
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
