// A participant's housekeeping, driven by what the coordinator says has ended (GetEnded):
// - the events its saga branches wrote wait in the outbox (hold_gid) until their global
//   transaction has ended, and are then released to the relay: nothing leaves while the
//   transaction can still be undone;
// - barrier rows (tx_barrier) are deleted once their transaction ended `retentionMs` ago. Every
//   call of a transaction carries a context that expires with the call's deadline, so by then no
//   call that could need the row (a late action, a late XA start) can be accepted any more.
import type { Database } from '../db';
import type { Logger } from '../log';

/** A global transaction that has ended, as the coordinator reports it. */
export interface EndedTransaction {
  gid: string;
  endedAt: Date;
}

export interface HousekeepingOptions {
  /** How often held events are checked (an event waits at most about this long after the end). */
  releasePollMs: number;
  /** How often old barrier rows are collected. */
  collectIntervalMs: number;
  /** How long after its transaction ended a barrier row is kept. */
  retentionMs: number;
  /** Gids asked about per round. */
  batch: number;
}

export class Housekeeping {
  private readonly timers: NodeJS.Timeout[] = [];
  /** Rounds under way (one per job at most), awaited by stop(). */
  private readonly rounds = new Set<Promise<unknown>>();

  constructor(
    private readonly db: Database,
    /** Those of `gids` that have ended (the coordinator's GetEnded). */
    private readonly ended: (gids: string[]) => Promise<EndedTransaction[]>,
    private readonly opts: HousekeepingOptions,
    private readonly log: Logger,
    /** Called when events were released, so the relay publishes them at once. */
    private readonly released: () => void,
  ) {}

  start(): void {
    this.every(this.opts.releasePollMs, () => this.releaseHeld());
    this.every(this.opts.collectIntervalMs, () => this.collectBarrier(new Date()));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.rounds);
  }

  /** Releases the held events of transactions that have ended; answers how many rows. */
  async releaseHeld(): Promise<number> {
    const held = await this.db.query<{ gid: string }>(
      'SELECT DISTINCT hold_gid AS gid FROM outbox WHERE hold_gid IS NOT NULL LIMIT ?',
      [this.opts.batch],
    );
    if (held.length === 0) return 0;
    const ended = await this.ended(held.map((h) => h.gid));
    if (ended.length === 0) return 0;
    const res = await this.db.execute(
      `UPDATE outbox SET hold_gid = NULL WHERE hold_gid IN (${ended.map(() => '?').join(', ')})`,
      ended.map((e) => e.gid),
    );
    if (res.affectedRows > 0) this.released();
    return res.affectedRows;
  }

  /** Deletes barrier rows of transactions that ended long enough before `now`; answers how many. */
  async collectBarrier(now: Date): Promise<number> {
    const before = new Date(now.getTime() - this.opts.retentionMs);
    const old = await this.db.query<{ gid: string }>(
      'SELECT DISTINCT gid FROM tx_barrier WHERE created_at < ? LIMIT ?',
      [before, this.opts.batch],
    );
    if (old.length === 0) return 0;
    const done = (await this.ended(old.map((o) => o.gid))).filter((e) => e.endedAt < before);
    if (done.length === 0) return 0;
    const res = await this.db.execute(
      `DELETE FROM tx_barrier WHERE gid IN (${done.map(() => '?').join(', ')})`,
      done.map((e) => e.gid),
    );
    return res.affectedRows;
  }

  /** Runs job every ms, one round at a time; a failed round is logged and tried next time. */
  private every(ms: number, job: () => Promise<unknown>): void {
    let round: Promise<unknown> | undefined;
    let failures = 0;
    const timer = setInterval(() => {
      if (round) return;
      round = job()
        .then(
          () => (failures = 0),
          (err: unknown) => {
            // The coordinator may be down for a while: say so once, then now and then.
            if (failures++ % 50 === 0)
              this.log.warn({ err, failures }, 'participant housekeeping will retry');
          },
        )
        .finally(() => {
          this.rounds.delete(round!);
          round = undefined;
        });
      this.rounds.add(round);
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
