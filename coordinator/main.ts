// The coordinator process: its transaction log, the engine in the configured mode, the
// recovery loop, and its gRPC server.
import { openDatabase } from '../lib/db';
import { createTxMetrics } from '../lib/metrics';
import { GrpcServer } from '../lib/grpc/server';
import { PROTO_FILES } from '../lib/paths';
import type { StartService } from '../lib/service';
import type { TxMode } from '../lib/txMode';
import { ParticipantServiceService } from '../gen/boxoffice/participant/v1/participant';
import { COORDINATOR_MIGRATIONS } from './data/migrations';
import { BranchCalls } from './engine/branches';
import { Engine } from './engine/engine';
import { SqlTxLog } from './engine/log';
import { RecoveryLoop } from './engine/recovery';
import type { RunnerDeps, TxRunner } from './engine/runner';
import { SagaRunner } from './engine/saga';
import { XaRunner, type PhaseTwo } from './engine/xa';
import { participantClients } from './flows/participants';
import { coordinatorService } from './grpc';
import { OperatorData } from './operator/data';
import { OperatorDesk } from './operator/desk';

const BACKOFF = { baseMs: 50, capMs: 2000 };
const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'] as const;
type Participant = (typeof PARTICIPANTS)[number];

export const startCoordinator: StartService = async ({
  config,
  log: rootLog,
  lifecycle,
  channels,
  metrics,
  trust,
}) => {
  const log = rootLog.child({ service: 'coordinator' });
  const c = config.coordinator;
  const db = await openDatabase(
    config.db.coordinator,
    COORDINATOR_MIGRATIONS,
    config.db.migrateOnStart,
  );
  lifecycle.onStop('coordinator db', () => db.close());
  const txLog = new SqlTxLog(db);

  const as = trust.signer('coordinator');
  // Phase 2 goes to the ParticipantService every participant serves beside its own.
  const phaseTwoClients = new Map(
    PARTICIPANTS.map((p) => [
      p,
      channels.client(
        ParticipantServiceService,
        config.grpcTargets[p],
        as,
        undefined,
        c.branchTransport,
      ),
    ]),
  );
  const phase2: PhaseTwo = {
    commit: async (participant, gid, call) => {
      await phaseTwoClients
        .get(participant as Participant)!
        .commit({ gid, branchId: participant }, call);
    },
    rollback: async (participant, gid, call) => {
      await phaseTwoClients
        .get(participant as Participant)!
        .rollback({ gid, branchId: participant }, call);
    },
  };
  const txMetrics = createTxMetrics(metrics);
  const leaseGraceMs = 2000;
  const deps: RunnerDeps = {
    txLog,
    calls: new BranchCalls(
      txLog,
      { branchDeadlineMs: c.branchDeadlineMs, backoff: BACKOFF, txKey: trust.txKey! },
      log,
      txMetrics,
    ),
    inlineFinishMs: c.inlineFinishMs,
    retry: {
      baseMs: c.retryBaseMs,
      maxMs: c.retryMaxMs,
      parkAfterAttempts: c.parkAfterAttempts,
    },
    awaitOutcomeMs: c.txTtlMs + leaseGraceMs + c.inlineFinishMs,
    log,
    metrics: txMetrics,
  };
  // The one place the mode is chosen: new transactions run in TX_MODE; recovery finishes each
  // transaction in the mode it began in.
  const runners: Record<TxMode, TxRunner> = {
    saga: new SagaRunner(deps, txMetrics),
    xa: new XaRunner(deps, phase2),
  };
  const engine = new Engine({
    txLog,
    runner: runners[config.txMode],
    runnerFor: (mode) => runners[mode],
    options: {
      owner: c.id,
      ttlMs: c.txTtlMs,
      leaseGraceMs,
      guardDeadlineMs: c.branchDeadlineMs,
      // Answered within the caller's deadline (the gateway's is GRPC_DEADLINE_MS).
      replayWaitMs: Math.max(100, config.grpcDeadlineMs - 1000),
    },
    log,
    metrics: txMetrics,
  });
  const binding = coordinatorService({
    engine,
    txLog,
    participants: participantClients(channels, config.grpcTargets, as, c.branchTransport),
    desk: new OperatorDesk(new OperatorData(db), txLog),
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
    trust,
    log,
    metrics,
    ready: () => db.ping(),
    // The gateway's booking calls come on a stream (gateway/upstream.ts).
    mux: { callers: ['gateway'] },
  });
  lifecycle.onStop('coordinator grpc', () => server.stop());
  lifecycle.onStop('coordinator recovery', () => recovery.stop());
  const port = await server.start();
  await recovery.start();
  log.info({ mode: config.txMode, id: c.id }, 'coordinator running');
  return port;
};
