// The queue service process: Redis, the admission tick, the end-token consumer, then its gRPC
// server.
import { EventConsumer } from '../../lib/events/consumer';
import { GrpcServer } from '../../lib/grpc/server';
import { PROTO_FILES } from '../../lib/paths';
import { createRedis } from '../../lib/redis';
import type { StartService } from '../../lib/service';
import { endTokenConsumer } from './events';
import { queueService } from './grpc';
import { registerWaitingRoomMetrics } from './metrics';
import { WaitingRoom } from './waitingRoom';

export const startQueue: StartService = async ({
  config,
  log,
  lifecycle,
  broker,
  metrics,
  trust,
}) => {
  const qlog = log.child({ service: 'queue' });
  const redis = createRedis(config.redis.url, config.redis.keyPrefix);
  lifecycle.onStop('queue redis', async () => {
    await redis.quit();
  });
  const room = new WaitingRoom(redis, config.queue);
  const unregisterRoom = registerWaitingRoomMetrics(metrics, room);
  lifecycle.onStop('queue metrics', unregisterRoom);

  // Every instance ticks; the admission script is atomic, so extra instances only tick more
  // often, never admit past the cap or out of order. A slow tick is not overlapped by the next.
  let ticking = false;
  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      const admitted = await room.admitWaiting();
      if (admitted > 0) qlog.debug({ admitted }, 'admitted waiting tokens');
    } catch (err) {
      qlog.warn({ err }, 'admission tick failed');
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), config.queue.admitIntervalMs);
  lifecycle.onStop('queue admission', () => clearInterval(timer));

  const consumer = new EventConsumer(broker, endTokenConsumer(room, config.events, qlog), qlog);
  consumer.registerMetrics(metrics);
  // Attaches in the background and keeps retrying: a down broker must not keep the queue down.
  consumer.start();
  // Registered after Redis, so it stops first and in-flight events finish on a live connection.
  lifecycle.onStop('queue end-token consumer', () => consumer.stop());

  const server = new GrpcServer({
    name: 'queue',
    host: config.grpcHost,
    port: config.grpcPorts.queue,
    services: [queueService(room, trust.keys.privateKey('queue')!)],
    protoFiles: [PROTO_FILES.queue],
    trust,
    log: qlog,
    ready: async () => (await redis.ping()) === 'PONG',
    metrics,
  });
  lifecycle.onStop('queue grpc', () => server.stop());
  return server.start();
};
