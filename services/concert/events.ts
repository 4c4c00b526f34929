// The concert's event consumer: the sold-out ranking, from completed sales. Each event, or each
// batch of the events that queued up, is handled in one local transaction with its
// processed-event records (applyOnce, applyAllOnce), so a redelivery changes nothing; the entry
// itself depends only on the seats, so concurrent events of the last sales (on any instance)
// agree on it.
import type { Config } from '../../lib/config';
import type { Database, Sql } from '../../lib/db';
import type { ConsumerSpec } from '../../lib/events/consumer';
import { applyAllOnce, applyOnce } from '../../lib/events/processed';
import {
  InvalidEventError,
  RESERVATION_COMPLETED,
  parseReservationCompleted,
  type ReservationCompleted,
} from '../../lib/events/reservationCompleted';
import type { Logger } from '../../lib/log';
import { awaitSale, enterRanking, salesOf } from './data/rankings';
import { sellOut } from './domain/ranking';

export const RANKING_QUEUE = 'concert.ranking';

/** Counts sales for the ranking; answers the schedules each sale made sold out and ranked. */
async function countSales(tx: Sql, sales: ReservationCompleted[]): Promise<string[]> {
  const ranked: string[] = [];
  for (const sale of sales) {
    await awaitSale(tx, sale);
    const schedule = await salesOf(tx, sale.scheduleId);
    // Retrying will not make it exist: park it for an operator.
    if (!schedule) throw new InvalidEventError(`no schedule ${sale.scheduleId}`);
    const soldOut = sellOut(schedule);
    if (soldOut && (await enterRanking(tx, schedule, soldOut))) ranked.push(sale.scheduleId);
  }
  return ranked;
}

export function rankingConsumer(db: Database, events: Config['events'], log: Logger): ConsumerSpec {
  return {
    queue: RANKING_QUEUE,
    events: [RESERVATION_COMPLETED],
    retryDelaysMs: events.retryDelaysMs,
    prefetch: events.prefetch,
    async handle(event) {
      const sale = parseReservationCompleted(event);
      let ranked: string[] = [];
      const fresh = await applyOnce(db, RANKING_QUEUE, event.eventId, async (tx) => {
        ranked = await countSales(tx, [sale]);
      });
      if (ranked.length) log.info({ scheduleId: sale.scheduleId }, 'schedule sold out; ranked');
      else log.debug({ eventId: event.eventId, fresh }, 'sale counted for the ranking');
    },
    // Under load, the sales that queued up meanwhile are counted in one transaction.
    async handleBatch(events) {
      const sales = events.map(parseReservationCompleted);
      let ranked: string[] = [];
      await applyAllOnce(
        db,
        RANKING_QUEUE,
        events.map((e) => e.eventId),
        async (tx) => {
          ranked = await countSales(tx, sales);
        },
      );
      for (const scheduleId of ranked) log.info({ scheduleId }, 'schedule sold out; ranked');
    },
  };
}
