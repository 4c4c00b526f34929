// The auditor where the databases do not share one server (as on Kubernetes, one MariaDB per
// service): a check reads its databases through one connection to their server, so the checks
// that join databases living apart are skipped, saying why, and every other one still runs.
// "Another server" here is the same MariaDB reached under another name (localhost), which the
// auditor cannot tell from a separate one.
import { expect } from 'chai';
import { DB_SERVICES, loadConfig, type Config } from '../../lib/config';
import { dropDatabase, migrate } from '../../lib/db';
import { audit, report } from '../../ops/audit';
import { CONCERT_MIGRATIONS } from '../../services/concert/data/migrations';
import { COORDINATOR_MIGRATIONS } from '../../coordinator/data/migrations';
import { PAYMENT_MIGRATIONS } from '../../services/payment/data/migrations';
import { POINT_MIGRATIONS } from '../../services/point/data/migrations';
import { RESERVATION_MIGRATIONS } from '../../services/reservation/data/migrations';
import { DATAPLATFORM_MIGRATIONS } from '../../services/dataplatform/data/migrations';
import { runId } from '../support/infra';

describe('the auditor with its databases on several servers', function () {
  this.timeout(60_000);
  let config: Config;

  before(async () => {
    const server = loadConfig().db.concert;
    config = loadConfig({
      ...process.env,
      DB_NAME_PREFIX: `${runId()}_`,
      CONCERT_DB_URL: `mysql://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@localhost:${server.port}`,
    });
    await Promise.all([
      migrate(config.db.concert, CONCERT_MIGRATIONS),
      migrate(config.db.reservation, RESERVATION_MIGRATIONS),
      migrate(config.db.payment, PAYMENT_MIGRATIONS),
      migrate(config.db.point, POINT_MIGRATIONS),
      migrate(config.db.coordinator, COORDINATOR_MIGRATIONS),
      migrate(config.db.dataplatform, DATAPLATFORM_MIGRATIONS),
    ]);
  });

  after(async () => {
    if (config) for (const d of DB_SERVICES) await dropDatabase(config.db[d]);
  });

  it('skips exactly the checks that join the concert database with another, and runs the rest', async () => {
    const checks = await audit(config, { events: true });
    expect(
      checks.every((c) => c.ok),
      report(checks),
    ).to.equal(true);
    expect(checks.filter((c) => c.skipped).map((c) => c.name)).to.deep.equal([
      'every SOLD seat has exactly one CONFIRMED reservation and one PAID payment',
      'every live reservation owns its seat',
      'every taken seat is taken by a live reservation (no leaked hold)',
    ]);
    expect(checks.find((c) => c.skipped)!.skipped).to.equal(
      'joins concert, reservation, payment, which live on different servers here',
    );
    expect(checks.filter((c) => !c.skipped).map((c) => c.name)).to.include.members([
      'no seat is held or sold by two live reservations',
      "every user's balance equals the ledger",
      "every user's uses minus refunds equal their paid payments",
      'no XA branch is left prepared',
      "every participant's outbox is drained",
      'every completed reservation reached the data platform exactly once',
    ]);
    expect(report(checks)).to.include(
      'skip every live reservation owns its seat (joins reservation, concert, which live on different servers here)',
    );
  });
});
