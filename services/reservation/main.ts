// The reservation service process: its database, its participant runtime, its gRPC server,
// then the sweeper that has overdue holds expired.
import { openDatabase } from '../../lib/db';
import { GrpcServer } from '../../lib/grpc/server';
import { startParticipant } from '../../lib/participant/runtime';
import { PROTO_FILES } from '../../lib/paths';
import type { StartService } from '../../lib/service';
import { CoordinatorServiceService } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { RESERVATION_MIGRATIONS } from './data/migrations';
import { reservationService } from './grpc';
import { ReservationBook } from './reservationBook';
import { ExpirySweeper } from './sweeper';

export { RESERVATION_MIGRATIONS };

export const startReservation: StartService = async (ctx) => {
  const { config, log, lifecycle } = ctx;
  const db = await openDatabase(
    config.db.reservation,
    RESERVATION_MIGRATIONS,
    config.db.migrateOnStart,
  );
  lifecycle.onStop('reservation db', () => db.close());
  const { participant, binding } = await startParticipant(ctx, 'reservation', db);
  const book = new ReservationBook(db, participant, config.reservationHoldSeconds);
  const serviceLog = log.child({ service: 'reservation' });
  const server = new GrpcServer({
    name: 'reservation',
    host: config.grpcHost,
    port: config.grpcPorts.reservation,
    services: [reservationService(book), binding],
    protoFiles: [PROTO_FILES.reservation, PROTO_FILES.participant],
    trust: ctx.trust,
    log: serviceLog,
    ready: () => db.ping(),
    metrics: ctx.metrics,
    // The coordinator's branch and phase-2 calls come multiplexed on one stream.
    mux: { callers: ['coordinator'] },
  });
  lifecycle.onStop('reservation grpc', () => server.stop());
  const port = await server.start();

  // Started once this server answers, since the Expire flow it triggers calls back in here.
  const coordinator = ctx.channels.client(
    CoordinatorServiceService,
    config.grpcTargets.coordinator,
    ctx.trust.signer('reservation'),
  );
  const sweeper = new ExpirySweeper(
    (limit) => book.overdue(limit),
    async (reservationId) => (await coordinator.expire({ reservationId })).expired,
    serviceLog.child({ component: 'expiry-sweeper' }),
    { intervalMs: config.reservationSweepIntervalMs },
  );
  sweeper.start();
  lifecycle.onStop('reservation expiry sweeper', () => sweeper.stop());
  return port;
};
