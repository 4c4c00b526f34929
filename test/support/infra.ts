// Per-run isolation on the real MariaDB and Redis of this machine: every test run gets its own
// databases and key prefix, and removes them afterwards (the shared part is ops/isolation.ts).
import { loadConfig, type DbConfig, type DbServiceName } from '../../lib/config';
import { Database, createPool, dropDatabase, migrate, type Migration } from '../../lib/db';
import { rollbackPrepared } from '../../ops/isolation';
import { createRedis, type Redis } from '../../lib/redis';
import { deleteKeys, runId } from '../../ops/isolation';

export { deleteKeys, runId };

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
      // A test that failed midway may leave a branch prepared; the drop would wait on it.
      await rollbackPrepared(config, new Set([config.database]));
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

/** A RabbitMQ vhost of this run's own (scripts/infra.sh vhost), deleted by drop(). */
export { runVhost as testVhost, type RunVhost as TestVhost } from '../../ops/isolation';
