// Creates each service's database and applies its pending migrations; safe to repeat.
// Usage: node dist/cmd/migrate.js [service ...]   (default: every service with a database)
import { ConfigError, DB_SERVICES, loadConfig, type DbServiceName } from '../lib/config';
import { migrate, type Migration } from '../lib/db';
import { COORDINATOR_MIGRATIONS } from '../coordinator/data/migrations';
import { CONCERT_MIGRATIONS } from '../services/concert/data/migrations';
import { DATAPLATFORM_MIGRATIONS } from '../services/dataplatform/data/migrations';
import { PAYMENT_MIGRATIONS } from '../services/payment/data/migrations';
import { POINT_MIGRATIONS } from '../services/point/data/migrations';
import { RESERVATION_MIGRATIONS } from '../services/reservation/data/migrations';

const MIGRATIONS: Partial<Record<DbServiceName, Migration[]>> = {
  concert: CONCERT_MIGRATIONS,
  reservation: RESERVATION_MIGRATIONS,
  payment: PAYMENT_MIGRATIONS,
  point: POINT_MIGRATIONS,
  coordinator: COORDINATOR_MIGRATIONS,
  dataplatform: DATAPLATFORM_MIGRATIONS,
};

async function main(): Promise<void> {
  const config = loadConfig();
  const asked = process.argv.slice(2);
  for (const name of asked) {
    if (!(DB_SERVICES as readonly string[]).includes(name))
      throw new ConfigError(`unknown service "${name}"`);
  }
  const names = (asked.length ? asked : Object.keys(MIGRATIONS)) as DbServiceName[];
  for (const name of names) {
    const migrations = MIGRATIONS[name];
    if (!migrations) continue;
    const applied = await migrate(config.db[name], migrations);
    process.stdout.write(
      `migrate: ${config.db[name].database}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
