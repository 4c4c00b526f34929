// The one entry point: hosts the services named in SERVICES (all of them by default) in this
// process. Each still listens on its own port and calls the others over real gRPC.
import { ConfigError, loadConfig, type Config, type ServiceName } from '../lib/config';
import { ChannelPool } from '../lib/grpc/client';
import { Lifecycle } from '../lib/lifecycle';
import { createLogger } from '../lib/log';
import type { StartService } from '../lib/service';
import { startConcert } from '../services/concert/main';
import { startPoint } from '../services/point/main';
import { startQueue } from '../services/queue/main';
import { startGateway } from '../gateway/main';

// Start order: dependencies before their callers; the gateway last.
const STARTERS: Partial<Record<ServiceName, StartService>> = {
  queue: startQueue,
  concert: startConcert,
  point: startPoint,
  gateway: startGateway,
};

function readConfig(): Config {
  try {
    return loadConfig();
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
  const log = createLogger(config.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.handleSignals();
  const channels = new ChannelPool(config.grpcDeadlineMs);
  lifecycle.onStop('grpc channels', () => channels.close());
  const ctx = { config, log, lifecycle, channels };
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
