// The recovery loop of one coordinator instance: claims overdue open transactions (a
// compare-and-set, so several instances can run) and drives each to a terminal state.
import type { Logger } from '../../lib/log';
import { backoffDelay, type Backoff } from './calls';
import type { Engine } from './engine';
import type { Claimed, TxLog } from './log';

export interface RecoveryOptions {
  owner: string;
  intervalMs: number;
  /** How long a claim keeps other instances away. */
  leaseMs: number;
  batch: number;
  backoff: Backoff;
}

export class RecoveryLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly txLog: TxLog,
    private readonly engine: Engine,
    private readonly opts: RecoveryOptions,
    private readonly log: Logger,
  ) {}

  /** Takes back this instance's own unfinished transactions at once (it restarted), then polls. */
  async start(): Promise<void> {
    const mine = await this.txLog.releaseOwned(this.opts.owner, new Date());
    if (mine)
      this.log.info(
        { count: mine },
        'resuming transactions left open by the previous run of this coordinator',
      );
    this.timer = setInterval(() => {
      this.running ??= this.tick().then(
        () => (this.running = undefined),
        () => (this.running = undefined),
      );
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: claim what is due and recover it. Exposed for tests. */
  async tick(): Promise<number> {
    const now = new Date();
    const claimed = await this.txLog
      .claimDue(this.opts.owner, now, new Date(now.getTime() + this.opts.leaseMs), this.opts.batch)
      .catch((err: unknown) => {
        this.log.warn({ err }, 'recovery could not claim transactions');
        return [] as Claimed[];
      });
    await Promise.all(
      claimed.map(async ({ gid, claim }) => {
        try {
          await this.engine.recover(gid);
        } catch (err) {
          this.log.warn({ err, gid }, 'recovery attempt failed; will retry');
          const at = new Date(
            Date.now() + backoffDelay(4, this.opts.backoff) + this.opts.backoff.baseMs,
          );
          await this.txLog
            .postpone(gid, at, err instanceof Error ? err.message : String(err), new Date(), claim)
            .catch(() => undefined);
        }
      }),
    );
    return claimed.length;
  }
}
