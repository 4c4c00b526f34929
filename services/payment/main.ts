// The payment service process: its database, its participant runtime, then its gRPC server.
import { openDatabase } from '../../lib/db';
import { GrpcServer } from '../../lib/grpc/server';
import { startParticipant } from '../../lib/participant/runtime';
import { PROTO_FILES } from '../../lib/paths';
import type { StartService } from '../../lib/service';
import { Cashier } from './cashier';
import { PAYMENT_MIGRATIONS } from './data/migrations';
import { paymentService } from './grpc';

export { PAYMENT_MIGRATIONS };

export const startPayment: StartService = async (ctx) => {
  const { config, log, lifecycle } = ctx;
  const db = await openDatabase(config.db.payment, PAYMENT_MIGRATIONS, config.db.migrateOnStart);
  lifecycle.onStop('payment db', () => db.close());
  const { participant, binding } = await startParticipant(ctx, 'payment', db);
  const server = new GrpcServer({
    name: 'payment',
    host: config.grpcHost,
    port: config.grpcPorts.payment,
    services: [paymentService(new Cashier(db, participant)), binding],
    protoFiles: [PROTO_FILES.payment, PROTO_FILES.participant],
    trust: ctx.trust,
    log: log.child({ service: 'payment' }),
    ready: () => db.ping(),
    metrics: ctx.metrics,
    // The coordinator's branch and phase-2 calls come multiplexed on one stream.
    mux: { callers: ['coordinator'] },
  });
  lifecycle.onStop('payment grpc', () => server.stop());
  return server.start();
};
