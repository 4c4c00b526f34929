// The in-doubt resolver: every interval it lists this participant's prepared XA branches, and
// asks the coordinator about each one still prepared after the safety interval (a crash, or a
// phase 2 that never came), then commits or rolls it back as told.
import type { Logger } from '../log';

export type Decision = 'commit' | 'rollback' | 'wait';

/** What the resolver needs of the participant's XA branches. */
export interface PreparedBranches {
  inDoubt(): Promise<{ gid: string }[]>;
  commit(gid: string): Promise<void>;
  rollback(gid: string): Promise<void>;
}

export interface ResolverOptions {
  intervalMs: number;
  /** A branch is asked about only once it has been seen prepared this long. */
  safetyMs: number;
}

export class InDoubtResolver {
  private readonly firstSeen = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly branches: PreparedBranches,
    private readonly decide: (gid: string) => Promise<Decision>,
    private readonly opts: ResolverOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass().finally(() => {
        this.running = undefined;
      });
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Starts no pass any more, and waits for one still running: the XA pool closes after this. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One look at the prepared branches; a failure is logged and left to the next pass. */
  async pass(): Promise<void> {
    try {
      const now = this.now();
      const branches = await this.branches.inDoubt();
      const present = new Set(branches.map((b) => b.gid));
      for (const gid of this.firstSeen.keys()) if (!present.has(gid)) this.firstSeen.delete(gid);
      for (const { gid } of branches) {
        const seen = this.firstSeen.get(gid) ?? now;
        this.firstSeen.set(gid, seen);
        if (now - seen < this.opts.safetyMs) continue;
        const decision = await this.decide(gid);
        if (decision === 'wait') continue;
        await (decision === 'commit' ? this.branches.commit(gid) : this.branches.rollback(gid));
        this.firstSeen.delete(gid);
        this.log.info({ gid, outcome: decision }, 'resolved an in-doubt XA branch');
      }
    } catch (err) {
      this.log.warn({ err }, 'in-doubt resolution will retry');
    }
  }
}
