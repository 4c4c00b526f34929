// What cmd/mesh.ts hands a service, for tests that start one service in-process: its own
// RabbitMQ vhost, a silent logger, a lifecycle, shared channels, a broker connection, a
// metrics registry and the development keys of every identity.
import { loadConfig, type Config } from '../../lib/config';
import { Broker } from '../../lib/events/broker';
import { ChannelPool, type AsyncClient } from '../../lib/grpc/client';
import { Lifecycle } from '../../lib/lifecycle';
import { createLogger } from '../../lib/log';
import { Metrics } from '../../lib/metrics/registry';
import type { ServiceContext } from '../../lib/service';
import { keysFromSecret, type IdentityName } from '../../lib/trust/keys';
import { Trust } from '../../lib/trust/trust';
import { testVhost } from './infra';

export interface TestContext extends ServiceContext {
  /** A client of the service this test started on `port`, calling as `as`. */
  clientAt<S extends Parameters<ChannelPool['client']>[0]>(
    definition: S,
    port: number,
    as: IdentityName,
  ): AsyncClient<S>;
  /** Stops everything the services registered, then removes the vhost. */
  stop(): Promise<void>;
}

/** env overrides the process environment (ports, DB_NAME_PREFIX, ...). */
export async function testContext(
  env: Record<string, string> = {},
  deadlineMs = 5000,
): Promise<TestContext> {
  const vhost = await testVhost();
  const config: Config = loadConfig({ ...process.env, AMQP_URL: vhost.url, ...env });
  const log = createLogger('silent');
  const lifecycle = new Lifecycle(log);
  const channels = new ChannelPool(deadlineMs);
  // Development keys: a test may sign as any identity (the gateway, the coordinator, ...).
  const trust = new Trust(keysFromSecret(config.meshSecret));
  const broker = new Broker({ url: config.amqpUrl, exchange: config.events.exchange }, log);
  return {
    config,
    log,
    lifecycle,
    channels,
    broker,
    // A registry of the test's own; a test that scrapes serves it itself (serveMetrics).
    metrics: new Metrics(),
    trust,
    clientAt: (definition, port, as) =>
      channels.client(definition, `127.0.0.1:${port}`, trust.signer(as)),
    async stop() {
      await lifecycle.stop();
      channels.close();
      await broker.close();
      await vhost.drop();
    },
  };
}
