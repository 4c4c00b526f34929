// What every process of the mesh receives from the entry point, and returns to it.
import type { Config } from './config';
import type { Broker } from './events/broker';
import type { ChannelPool } from './grpc/client';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './log';
import type { Metrics } from './metrics/registry';
import type { Trust } from './trust/trust';

export interface ServiceContext {
  config: Config;
  log: Logger;
  /** Register closers here; the entry point stops them in reverse order. */
  lifecycle: Lifecycle;
  /** Shared gRPC channels to the other services. */
  channels: ChannelPool;
  /** The process's one AMQP connection (opened on first use). */
  broker: Broker;
  /** The process's one Prometheus registry, served at /metrics; shared by all its services. */
  metrics: Metrics;
  /** The keys of the identities this process acts as, and the verifier of its callers. */
  trust: Trust;
}

/** Starts one service; resolves once it is listening. Returns the port it bound. */
export type StartService = (ctx: ServiceContext) => Promise<number>;
