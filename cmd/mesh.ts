// The one entry point: hosts the services named in SERVICES (all of them by default) in this
// process. Each still listens on its own port and calls the others over real gRPC.
// Telemetry first: it must patch http, grpc, mysql2, ioredis and amqplib before they load.
import '../lib/telemetry/register';
import { createServer } from 'node:net';
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
import { SecondProcess, serveAsSecondProcess, splitServices } from './meshProcesses';
import { stopTelemetry } from '../lib/telemetry/telemetry';
import type { StartService } from '../lib/service';
import { startCoordinator } from '../coordinator/main';
import { startOps } from '../services/ops/main';
import { startGateway } from '../gateway/main';
import { mockAddress, startDataplatformMock } from '../mock/dataplatform';
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

/** A port a service of this process listens on, and the variable that sets it. */
interface Listener {
  service: ServiceName;
  variable: string;
  host: string;
  port: number;
}

/** The ports this process's services listen on; port 0 (any free one) cannot be taken. */
function listeners(config: Config): Listener[] {
  const all = config.services.flatMap((service): Listener[] => {
    switch (service) {
      case 'gateway': {
        const { host, port } = config.gateway;
        return [{ service, variable: 'GATEWAY_PORT', host, port }];
      }
      case 'dataplatform-mock': {
        const { host, port } = mockAddress(config);
        return [{ service, variable: 'DATAPLATFORM_URL', host, port }];
      }
      case 'dataplatform':
        return []; // consumes events, listens nowhere
      default:
        return [
          {
            service,
            variable: `${service.toUpperCase()}_GRPC_PORT`,
            host: config.grpcHost,
            port: config.grpcPorts[service],
          },
        ];
    }
  });
  return all.filter((l) => l.port !== 0);
}

/** One line per taken port, naming the variable that moves it: the whole message. */
class PortsTaken extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('; '));
  }
}

function portTaken(l: Listener): string {
  const what =
    l.service === 'gateway'
      ? 'the gateway'
      : l.service === 'dataplatform-mock'
        ? 'the bundled data-platform mock'
        : `the ${l.service} gRPC service`;
  const fix =
    l.service === 'dataplatform-mock'
      ? 'point DATAPLATFORM_URL elsewhere or stop what listens (or run without the mock: ' +
        'DATAPLATFORM_MOCK=off, or a SERVICES list without dataplatform-mock)'
      : `set ${l.variable} to a free port or stop what listens`;
  return `${l.variable}: port ${l.port} on ${l.host} is already in use (${what} listens there); ${fix}`;
}

function inUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(true) : reject(err),
    );
    probe.listen(port, host, () => probe.close(() => resolve(false)));
  });
}

/**
 * Checked before any service starts, so a taken port fails at once and alone, not after the
 * services before it have connected to everything (and grpc-js has logged its own words).
 */
async function refuseTakenPorts(config: Config): Promise<void> {
  const taken: string[] = [];
  for (const l of listeners(config)) if (await inUse(l.host, l.port)) taken.push(portTaken(l));
  if (taken.length) throw new PortsTaken(taken);
}

/** A port taken between the check and the bind: the same line. grpc-js wraps the net error. */
function asPortTaken(config: Config, service: ServiceName, err: unknown): unknown {
  const l = listeners(config).find((x) => x.service === service);
  const addrInUse =
    err instanceof Error &&
    ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || err.message.includes('EADDRINUSE'));
  return l && addrInUse ? new PortsTaken([portTaken(l)]) : err;
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
  const all = readConfig();
  const { here, there } = splitServices(all);
  const config: Config = { ...all, services: here };
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
  const asSecond = serveAsSecondProcess(() => void lifecycle.stop().then(() => process.exit(0)));
  try {
    await refuseTakenPorts(config);
    // Registered before this process's services, so it stops after them: the coordinator
    // finishes its transactions while the participants it calls are still there.
    const second =
      there.length > 0
        ? SecondProcess.start(there, all, log, () => {
            void lifecycle.stop().then(() => process.exit(1));
          })
        : undefined;
    // Its failure is the start-up's (awaited below); until then it must not count as unhandled.
    second?.catch(() => undefined);
    lifecycle.onStop('second mesh process', async () =>
      (await second?.catch(() => undefined))?.stop(),
    );
    for (const name of Object.keys(STARTERS) as ServiceName[]) {
      const start = STARTERS[name];
      if (!start || !config.services.includes(name)) continue;
      const port = await start(ctx).catch((err: unknown) => {
        throw asPortTaken(config, name, err);
      });
      log.info({ service: name, port }, 'service started');
    }
    await second;
    log.info({ services: config.services, txMode: config.txMode }, 'mesh ready');
    asSecond.ready();
  } catch (err) {
    // A taken port is the operator's to fix: the line says how, a stack trace would not.
    if (err instanceof PortsTaken) process.stderr.write(err.lines.map((l) => `${l}\n`).join(''));
    else log.error({ err }, 'start-up failed');
    await lifecycle.stop();
    process.exit(1);
  }
}

void main();
