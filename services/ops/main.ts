// The ops process: operators' access to the consumers' parked events on the broker and to the
// auditor's invariants over every database, behind admin routes. No database of its own; its
// actions go into the coordinator's audit trail.
import { GrpcServer } from '../../lib/grpc/server';
import { PROTO_FILES } from '../../lib/paths';
import type { StartService } from '../../lib/service';
import { CoordinatorServiceService } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { audit, CONSUMER_QUEUES } from '../../ops/audit';
import { opsService } from './grpc';
import { Operations } from './operations';

export const startOps: StartService = async ({
  config,
  log: rootLog,
  lifecycle,
  channels,
  broker,
  metrics,
  trust,
}) => {
  const log = rootLog.child({ service: 'ops' });
  const coordinator = channels.client(
    CoordinatorServiceService,
    config.grpcTargets.coordinator,
    trust.signer('ops'),
  );
  const c = config.coordinator;
  const operations = new Operations({
    broker,
    queues: CONSUMER_QUEUES,
    record: async (action) => {
      await coordinator.recordOperatorAction(action);
    },
    // Live: open transactions and prepared branches count once past their deadline plus the
    // time phase 2 or compensations may take inline and a recovery round or two.
    audit: () =>
      audit(config, {
        events: true,
        amqpUrl: config.amqpUrl,
        live: { ttlMs: c.txTtlMs, graceMs: c.inlineFinishMs + 2 * c.recoveryIntervalMs },
      }),
    log,
  });
  const server = new GrpcServer({
    name: 'ops',
    host: config.grpcHost,
    port: config.grpcPorts.ops,
    services: [opsService(operations)],
    protoFiles: [PROTO_FILES.ops],
    trust,
    log,
    metrics,
    // Parked events live on the broker: SERVING while it answers.
    ready: async () => {
      await (await broker.confirmChannel()).close();
      return true;
    },
  });
  lifecycle.onStop('ops grpc', () => server.stop());
  const port = await server.start();
  log.info({ port }, 'ops running');
  return port;
};
