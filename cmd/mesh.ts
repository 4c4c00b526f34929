// The one entry point: hosts the services named in SERVICES (all of them by default) in this
// process. Each still listens on its own port and calls the others over real gRPC.
// Telemetry first: it must patch http, grpc, mysql2, ioredis and amqplib before they load.
import '../lib/telemetry/register';
import {
  ConfigError,
  assertProductionSecrets,
  loadConfig,
  type Config,
  type ServiceName,
} from '../lib/config';
import { Broker } from '../lib/events/broker';
import { armFailpoints } from '../lib/failpoints';
import { ChannelPool } from '../lib/grpc/client';
import { Lifecycle } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import { IDENTITIES, type IdentityName } from '../lib/trust/keys';
import { loadTrust, type Trust } from '../lib/trust/trust';
import { startMetrics } from '../lib/metrics';
import { stopTelemetry } from '../lib/telemetry/telemetry';
import type { StartService } from '../lib/service';
import { startCoordinator } from '../coordinator/main';
import { startOps } from '../services/ops/main';
import { startGateway } from '../gateway/main';
import { startDataplatformMock } from '../mock/dataplatform';
import { startDataplatform } from '../services/dataplatform/main';
import { startConcert } from '../services/concert/main';
import { startPayment } from '../services/payment/main';
import { startPoint } from '../services/point/main';
import { startQueue } from '../services/queue/main';
import { startReservation } from '../services/reservation/main';

// Start order: participants before the coordinator that calls them; the gateway last.
const STARTERS: Partial<Record<ServiceName, StartService>> = {
  queue: startQueue,
  concert: startConcert,
  point: startPoint,
  payment: startPayment,
  reservation: startReservation,
  coordinator: startCoordinator,
  ops: startOps,
  dataplatform: startDataplatform,
  'dataplatform-mock': startDataplatformMock,
  gateway: startGateway,
};

/** The keys of the identities this process acts as: the services it hosts. */
function readTrust(config: Config): Trust {
  const actAs = config.services.flatMap((s) =>
    (IDENTITIES as readonly string[]).includes(s) ? [s as IdentityName] : [],
  );
  try {
    return loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, actAs);
  } catch (err) {
    process.stderr.write(`configuration error: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

function readConfig(): Config {
  try {
    const config = loadConfig();
    assertProductionSecrets(config);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const trust = readTrust(config);
  armFailpoints(config.failpoints);
  const log = createLogger(config.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.handleSignals();
  // Registered first, so it runs last: spans of the shutdown itself are flushed too.
  lifecycle.onStop('telemetry', stopTelemetry);
  const channels = new ChannelPool(config.grpcDeadlineMs);
  lifecycle.onStop('grpc channels', () => channels.close());
  const broker = new Broker(
    { url: config.amqpUrl, exchange: config.events.exchange },
    log.child({ component: 'amqp' }),
  );
  lifecycle.onStop('amqp', () => broker.close());
  const metrics = await startMetrics(config, lifecycle, log);
  const ctx = { config, log, lifecycle, channels, broker, metrics, trust };
  try {
    for (const name of Object.keys(STARTERS) as ServiceName[]) {
      const start = STARTERS[name];
      if (!start || !config.services.includes(name)) continue;
      const port = await start(ctx);
      log.info({ service: name, port }, 'service started');
    }
    log.info({ services: config.services, txMode: config.txMode }, 'mesh ready');
  } catch (err) {
    log.error({ err }, 'start-up failed');
    await lifecycle.stop();
    process.exit(1);
  }
}

void main();
