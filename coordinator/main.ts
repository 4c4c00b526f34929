// The coordinator process: its transaction log, the engine in the configured mode, the
// recovery loop, and its gRPC server.
import { openDatabase } from '../lib/db';
import { createTxMetrics } from '../lib/metrics';
import { GrpcServer } from '../lib/grpc/server';
import { PROTO_FILES } from '../lib/paths';
import type { StartService } from '../lib/service';
import { ParticipantServiceService } from '../gen/boxoffice/participant/v1/participant';
import type { GrpcServiceName } from '../lib/config';
import { COORDINATOR_MIGRATIONS } from './data/migrations';
import { Engine, type PhaseTwo } from './engine/engine';
import { TxLog } from './engine/log';
import { RecoveryLoop } from './engine/recovery';
import { participantClients } from './flows/participants';
import { coordinatorService } from './grpc';

const BACKOFF = { baseMs: 50, capMs: 2000 };

export const startCoordinator: StartService = async ({
  config,
  log: rootLog,
  lifecycle,
  channels,
  metrics,
}) => {
  const log = rootLog.child({ service: 'coordinator' });
  const c = config.coordinator;
  const db = await openDatabase(
    config.db.coordinator,
    COORDINATOR_MIGRATIONS,
    config.db.migrateOnStart,
  );
  lifecycle.onStop('coordinator db', () => db.close());
  const txLog = new TxLog(db);

  const phase2: PhaseTwo = {
    commit: async (participant, gid) => {
      await channels
        .client(ParticipantServiceService, config.grpcTargets[participant as GrpcServiceName])
        .commit({ gid, branchId: participant });
    },
    rollback: async (participant, gid) => {
      await channels
        .client(ParticipantServiceService, config.grpcTargets[participant as GrpcServiceName])
        .rollback({ gid, branchId: participant });
    },
  };
  const engine = new Engine(
    txLog,
    phase2,
    {
      mode: config.txMode,
      owner: c.id,
      ttlMs: c.txTtlMs,
      branchDeadlineMs: c.branchDeadlineMs,
      inlineFinishMs: c.inlineFinishMs,
      leaseGraceMs: 2000,
      backoff: BACKOFF,
    },
    log,
    createTxMetrics(metrics),
  );
  const binding = coordinatorService({
    engine,
    txLog,
    participants: participantClients(channels, config.grpcTargets),
  });

  const recovery = new RecoveryLoop(
    txLog,
    engine,
    {
      owner: c.id,
      intervalMs: c.recoveryIntervalMs,
      leaseMs: c.txTtlMs,
      batch: 20,
      backoff: BACKOFF,
    },
    log,
  );
  const server = new GrpcServer({
    name: 'coordinator',
    host: config.grpcHost,
    port: config.grpcPorts.coordinator,
    services: [binding],
    protoFiles: [PROTO_FILES.coordinator],
    meshSecret: config.meshSecret,
    log,
    metrics,
    ready: () => db.ping(),
  });
  lifecycle.onStop('coordinator grpc', () => server.stop());
  lifecycle.onStop('coordinator recovery', () => recovery.stop());
  const port = await server.start();
  await recovery.start();
  log.info({ mode: config.txMode, id: c.id }, 'coordinator running');
  return port;
};
