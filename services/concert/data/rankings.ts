// The sold-out ranking read model: fastest sell-outs first.
import type { Database } from '../../../lib/db';

export interface SoldOut {
  scheduleId: string;
  concertId: string;
  title: string;
  date: string;
  soldOutSeconds: number;
}

export class Rankings {
  constructor(private readonly db: Database) {}

  /** Fastest first; ties go to whoever sold out earlier. One range of the fastest-index. */
  async fastest(limit: number): Promise<SoldOut[]> {
    const rows = await this.db.query<{
      schedule_id: string;
      concert_id: string;
      title: string;
      date: string;
      sold_out_seconds: number;
    }>(
      `SELECT schedule_id, concert_id, title, date, sold_out_seconds FROM sold_out_ranking
       ORDER BY sold_out_seconds, sold_out_at, schedule_id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({
      scheduleId: r.schedule_id,
      concertId: r.concert_id,
      title: r.title,
      date: r.date,
      soldOutSeconds: Number(r.sold_out_seconds),
    }));
  }
}
