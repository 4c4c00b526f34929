// The point service process: its database, its part in global transactions, then its gRPC server.
import { openDatabase } from '../../lib/db';
import { GrpcServer } from '../../lib/grpc/server';
import { PROTO_FILES } from '../../lib/paths';
import { startParticipant } from '../../lib/participant/runtime';
import type { StartService } from '../../lib/service';
import { POINT_MIGRATIONS } from './data/migrations';
import { pointService } from './grpc';
import { Wallets } from './wallets';

export const startPoint: StartService = async (ctx) => {
  const { config, log, lifecycle } = ctx;
  const db = await openDatabase(config.db.point, POINT_MIGRATIONS, config.db.migrateOnStart);
  lifecycle.onStop('point db', () => db.close());
  const { participant, binding } = await startParticipant(ctx, 'point', db);
  const wallets = new Wallets(db, participant);
  // Charge keys are kept a day; forgetting older ones hourly keeps the table that small.
  const forget = setInterval(() => {
    wallets.forgetOldKeys(new Date()).catch((err: unknown) => {
      log.warn({ err }, 'could not forget old charge keys; will retry');
    });
  }, 3_600_000);
  forget.unref();
  lifecycle.onStop('point charge keys', () => clearInterval(forget));
  const server = new GrpcServer({
    name: 'point',
    host: config.grpcHost,
    port: config.grpcPorts.point,
    services: [pointService(wallets), binding],
    protoFiles: [PROTO_FILES.point, PROTO_FILES.participant],
    trust: ctx.trust,
    log: log.child({ service: 'point' }),
    ready: () => db.ping(),
    metrics: ctx.metrics,
    // The coordinator's branch and phase-2 calls come multiplexed on one stream.
    mux: { callers: ['coordinator'] },
  });
  lifecycle.onStop('point grpc', () => server.stop());
  return server.start();
};
