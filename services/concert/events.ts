// The concert's event consumer: the sold-out ranking, from completed sales. Each event is
// handled in one local transaction with its processed-event record (applyOnce), so a
// redelivery changes nothing; the entry itself depends only on the seats, so concurrent events
// of the last sales (on any instance) agree on it.
import type { Config } from '../../lib/config';
import type { Database } from '../../lib/db';
import type { ConsumerSpec } from '../../lib/events/consumer';
import { applyOnce } from '../../lib/events/processed';
import {
  InvalidEventError,
  RESERVATION_COMPLETED,
  parseReservationCompleted,
} from '../../lib/events/reservationCompleted';
import type { Logger } from '../../lib/log';
import { awaitSale, enterRanking, salesOf } from './data/rankings';
import { sellOut } from './domain/ranking';

export const RANKING_QUEUE = 'concert.ranking';

export function rankingConsumer(db: Database, events: Config['events'], log: Logger): ConsumerSpec {
  return {
    queue: RANKING_QUEUE,
    events: [RESERVATION_COMPLETED],
    retryDelaysMs: events.retryDelaysMs,
    prefetch: events.prefetch,
    async handle(event) {
      const sale = parseReservationCompleted(event);
      let entered = false;
      const fresh = await applyOnce(db, RANKING_QUEUE, event.eventId, async (tx) => {
        await awaitSale(tx, sale);
        const schedule = await salesOf(tx, sale.scheduleId);
        // Retrying will not make it exist: park it for an operator.
        if (!schedule) throw new InvalidEventError(`no schedule ${sale.scheduleId}`);
        const soldOut = sellOut(schedule);
        if (soldOut) entered = await enterRanking(tx, schedule, soldOut);
      });
      if (entered) log.info({ scheduleId: sale.scheduleId }, 'schedule sold out; ranked');
      else log.debug({ eventId: event.eventId, fresh }, 'sale counted for the ranking');
    },
  };
}
