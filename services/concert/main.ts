// The concert service process: its database (and the demo seed, when asked), its part in global
// transactions, the ranking consumer, then its gRPC server.
import { openDatabase } from '../../lib/db';
import { EventConsumer } from '../../lib/events/consumer';
import { GrpcServer } from '../../lib/grpc/server';
import { PROTO_FILES } from '../../lib/paths';
import { startParticipant } from '../../lib/participant/runtime';
import type { StartService } from '../../lib/service';
import { Booking } from './booking';
import { Catalog } from './catalog';
import { Concerts } from './data/concerts';
import { CONCERT_MIGRATIONS } from './data/migrations';
import { Rankings } from './data/rankings';
import { rankingConsumer } from './events';
import { concertService } from './grpc';

export const startConcert: StartService = async (ctx) => {
  const { config, log, lifecycle } = ctx;
  const db = await openDatabase(config.db.concert, CONCERT_MIGRATIONS, config.db.migrateOnStart);
  lifecycle.onStop('concert db', () => db.close());
  const catalog = new Catalog(new Concerts(db), new Rankings(db));
  const serviceLog = log.child({ service: 'concert' });
  if (config.seed === 'demo') {
    const created = await catalog.seedDemo();
    serviceLog.info({ created }, created ? 'demo concert created' : 'demo concert already present');
  }
  const { participant, binding } = await startParticipant(ctx, 'concert', db);
  const consumer = new EventConsumer(
    ctx.broker,
    rankingConsumer(db, config.events, serviceLog),
    serviceLog,
  );
  consumer.registerMetrics(ctx.metrics);
  // Attaches in the background and keeps retrying: a down broker must not keep concert down.
  consumer.start();
  // Registered after the database, so it stops first and in-flight events finish.
  lifecycle.onStop('concert ranking consumer', () => consumer.stop());
  const server = new GrpcServer({
    name: 'concert',
    host: config.grpcHost,
    port: config.grpcPorts.concert,
    services: [concertService(catalog, new Booking(participant, db)), binding],
    protoFiles: [PROTO_FILES.concert, PROTO_FILES.participant],
    trust: ctx.trust,
    log: serviceLog,
    ready: () => db.ping(),
    metrics: ctx.metrics,
    // The coordinator's branch and phase-2 calls come multiplexed on one stream.
    mux: { callers: ['coordinator'] },
  });
  lifecycle.onStop('concert grpc', () => server.stop());
  return server.start();
};
