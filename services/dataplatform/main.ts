// The dataplatform process: its delivery log, and one consumer that POSTs every completed
// reservation to DATAPLATFORM_URL. No gRPC API of its own (docs/architecture.md) and no port.
import { openDatabase } from '../../lib/db';
import { EventConsumer } from '../../lib/events/consumer';
import { RESERVATION_COMPLETED } from '../../lib/events/reservationCompleted';
import type { StartService } from '../../lib/service';
import { DATAPLATFORM_MIGRATIONS } from './data/migrations';
import { Deliverer } from './deliverer';
import { DELIVERY_TIMEOUT_MS } from './domain/delivery';

export const DELIVERIES_QUEUE = 'dataplatform.deliveries';

export const startDataplatform: StartService = async (ctx) => {
  const { config, lifecycle } = ctx;
  const log = ctx.log.child({ service: 'dataplatform' });
  assertHttpUrl(config.dataplatformUrl);
  const db = await openDatabase(
    config.db.dataplatform,
    DATAPLATFORM_MIGRATIONS,
    config.db.migrateOnStart,
  );
  lifecycle.onStop('dataplatform db', () => db.close());
  const deliverer = new Deliverer(
    db,
    { url: config.dataplatformUrl, timeoutMs: DELIVERY_TIMEOUT_MS, consumer: DELIVERIES_QUEUE },
    log,
  );
  lifecycle.onStop('dataplatform client', () => deliverer.close());
  const consumer = new EventConsumer(
    ctx.broker,
    {
      queue: DELIVERIES_QUEUE,
      events: [RESERVATION_COMPLETED],
      retryDelaysMs: config.events.retryDelaysMs,
      prefetch: config.events.prefetch,
      handle: (event) => deliverer.handle(event),
    },
    log,
  );
  consumer.registerMetrics(ctx.metrics);
  // Attaches in the background and keeps retrying: a down broker must not stop the mesh.
  consumer.start();
  // Registered after the database, so it stops first and in-flight deliveries finish.
  lifecycle.onStop('dataplatform consumer', () => consumer.stop());
  log.info(
    { url: config.dataplatformUrl, queue: DELIVERIES_QUEUE },
    'dataplatform consumer started',
  );
  return 0;
};

/** Fails start-up on a DATAPLATFORM_URL that is not http(s), instead of parking every event. */
function assertHttpUrl(raw: string): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`DATAPLATFORM_URL is not a URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`DATAPLATFORM_URL must be http:// or https://, got "${raw}"`);
}
