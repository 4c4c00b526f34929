// The waiting room's gauges, read from Redis on scrape (one read-only script for both).
import { coalesce, type Metrics } from '../../lib/metrics/registry';
import { WAITING_ROOM_ACTIVE, WAITING_ROOM_WAITING } from '../../lib/metrics/catalog';
import type { WaitingRoom } from './waitingRoom';

/** Registers waiting_room_waiting and waiting_room_active; returns the function that removes them. */
export function registerWaitingRoomMetrics(metrics: Metrics, room: WaitingRoom): () => void {
  const read = coalesce(() => room.stats());
  const offs = [
    metrics.gaugeOnScrape(WAITING_ROOM_WAITING, 'queue', async () => [
      { labels: {}, value: (await read()).waiting },
    ]),
    metrics.gaugeOnScrape(WAITING_ROOM_ACTIVE, 'queue', async () => [
      { labels: {}, value: (await read()).active },
    ]),
  ];
  return () => offs.forEach((off) => off());
}
