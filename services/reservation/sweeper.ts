// The expiry sweeper: finds holds overdue and asks the coordinator to expire each one (the
// Expire flow: reservation.Expire, then concert.ReleaseSeat). It decides nothing itself: Expire
// is a conditional update on HELD-and-overdue, so a hold that turned PAYING meanwhile is
// refused there, and two sweepers (one per instance) at once only ask twice.
import type { Logger } from '../../lib/log';

export interface SweeperOptions {
  intervalMs: number;
  /** Ids taken per pass; the rest wait for the next pass. */
  batchSize?: number;
  /** Expire calls in flight at once. */
  concurrency?: number;
}

export interface SweepResult {
  found: number;
  expired: number;
  failed: number;
}

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<SweepResult> | undefined;
  private stopping = false;

  constructor(
    /** Overdue HELD ids, oldest first, at most `limit`. */
    private readonly findOverdue: (limit: number) => Promise<string[]>,
    /** Asks the coordinator to run the Expire flow; true when it expired the hold. */
    private readonly expire: (reservationId: string) => Promise<boolean>,
    private readonly log: Logger,
    private readonly opts: SweeperOptions,
  ) {}

  start(): void {
    this.stopping = false;
    this.timer ??= setInterval(() => void this.sweep(), this.opts.intervalMs);
  }

  /** Stops the timer and waits for a pass in flight, which starts no new call meanwhile. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /**
   * One pass. Passes never overlap: while one runs, another request joins it, so a slow
   * coordinator cannot pile passes up (each would ask about the same ids again).
   */
  sweep(): Promise<SweepResult> {
    this.pass ??= this.run().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async run(): Promise<SweepResult> {
    const result: SweepResult = { found: 0, expired: 0, failed: 0 };
    let ids: string[];
    try {
      ids = await this.findOverdue(this.opts.batchSize ?? 100);
    } catch (err) {
      this.log.warn({ err }, 'could not look for overdue holds; will retry');
      return result;
    }
    result.found = ids.length;
    let next = 0;
    const worker = async () => {
      while (next < ids.length && !this.stopping) {
        const reservationId = ids[next++];
        try {
          if (await this.expire(reservationId)) result.expired++;
        } catch (err) {
          // The next pass finds it again if it is still overdue and HELD.
          result.failed++;
          this.log.warn({ err, reservationId }, 'could not expire an overdue hold; will retry');
        }
      }
    };
    const workers = Math.min(this.opts.concurrency ?? 8, ids.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (result.found > 0) this.log.debug(result, 'expiry sweep');
    return result;
  }
}
