// The fault injector: carries out a run's fault plan (plan.ts) against the mesh — kill -9 and
// restart, failpoint delays armed and disarmed by graceful restarts, SIGSTOP/SIGCONT, stalled
// database relays — and after each fault waits until the mesh serves again. Every fault is
// logged with what was in flight when it struck.
import type { Load } from './load';
import type { ChaosMesh } from './mesh';
import type { Observer } from './observe';
import type { FaultPlan } from './plan';
import type { Topology } from './topology';

export interface Fault extends FaultPlan {
  /** Milliseconds since the faults began. */
  atMs: number;
  /** Wall-clock time it struck, to find it in the processes' logs. */
  at: string;
  pid: number | undefined;
  /** Client calls waiting for an answer when it struck. */
  load: string;
  /** Open global transactions and prepared branches when it struck. */
  tx: string;
  /** From the end of the fault until the victim and the gateway's readiness said it serves. */
  backMs: number;
  /** What the fault found on its way (connections stalled, a graceful stop's exit code). */
  note?: string;
  error?: string;
}

export interface Incident {
  atMs: number;
  group: string;
  code: number | null;
  signal: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a graceful stop may take: the server's own grace (10 s) and then its closers. */
const GRACEFUL_STOP_MS = 20_000;

export class FaultInjector {
  readonly faults: Fault[] = [];
  readonly incidents: Incident[] = [];
  private readonly began = Date.now();
  /** A group being struck and brought back by us right now. */
  private handling: string | undefined;

  constructor(
    private readonly mesh: ChaosMesh,
    private readonly topology: Topology,
    private readonly plans: readonly FaultPlan[],
    private readonly load: Load,
    private readonly observer: Observer,
    private readonly print: (line: string) => void,
  ) {
    // A process that dies on its own is a finding: log it and bring it back.
    const onExit = (group: string, code: number | null, signal: NodeJS.Signals | null) => {
      this.incidents.push({ atMs: Date.now() - this.began, group, code, signal });
      this.print(`  !! ${group} exited on its own (code ${code}, signal ${signal}); restarting it`);
      // Unless the run has ended meanwhile (the handler is removed then), or the fault that is
      // handling it brings it back itself.
      if (this.handling !== group)
        setTimeout(() => mesh.onUnexpectedExit === onExit && mesh.restart(group), 500);
    };
    mesh.onUnexpectedExit = onExit;
  }

  async run(): Promise<void> {
    for (const plan of this.plans) {
      await sleep(plan.waitMs);
      const fault = await this.strike(plan);
      this.faults.push(fault);
      this.print(formatFault(fault));
    }
  }

  private async strike(plan: FaultPlan): Promise<Fault> {
    const { victim } = plan;
    this.handling = victim;
    const now = Date.now();
    const load = this.load.inFlightSummary() || '-';
    const tx = (await this.observer.inFlight().catch((e: Error) => `? ${e.message}`)) || '-';
    const fault: Fault = {
      ...plan,
      atMs: now - this.began,
      at: new Date(now).toISOString(),
      pid: this.mesh.pid(victim),
      load,
      tx,
      backMs: 0,
    };
    let ended = Date.now();
    try {
      switch (plan.kind) {
        case 'kill':
          await this.mesh.kill(victim);
          await sleep(plan.holdMs);
          ended = Date.now();
          await this.start(victim);
          break;
        case 'delay': {
          // Graceful restarts on both sides: the fault is the slowness, not a crash.
          const armed = await this.restartGracefully(victim, { FAILPOINTS: plan.failpoint ?? '' });
          await sleep(plan.holdMs);
          ended = Date.now();
          const disarmed = await this.restartGracefully(victim, { FAILPOINTS: '' });
          const odd = [armed, disarmed].filter(Boolean);
          if (odd.length) throw new Error(odd.join('; '));
          break;
        }
        case 'pause':
          this.mesh.pause(victim);
          try {
            await sleep(plan.holdMs);
          } finally {
            this.mesh.resume(victim);
          }
          ended = Date.now();
          break;
        case 'stall': {
          const relay = this.topology.dbRelays.get(victim);
          if (!relay) throw new Error(`${victim} has no database relay`);
          fault.note = `${relay.stall()} connections stalled`;
          try {
            await sleep(plan.holdMs);
          } finally {
            relay.resume();
          }
          ended = Date.now();
          break;
        }
      }
      // A victim that died meanwhile (an incident is logged) is started again here.
      if (!this.mesh.alive(victim)) await this.start(victim);
      await this.mesh.waitReady(60_000);
      fault.backMs = Date.now() - ended;
    } catch (err) {
      fault.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.handling = undefined;
    }
    return fault;
  }

  /** Starts a stopped group and waits until it serves; one that dies while starting, again. */
  private async start(victim: string, env: Record<string, string> = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.mesh.restart(victim, env);
      try {
        await this.mesh.waitStarted(victim, 60_000);
        return;
      } catch (err) {
        // It died while starting (an incident is logged): start it again, a few times.
        if (this.mesh.alive(victim) || attempt === 3) throw err;
        await sleep(500);
      }
    }
  }

  /**
   * SIGTERM, a clean exit, then a start with env. Resolves with what went wrong with the stop
   * (it did not exit 0, or not at all), undefined when nothing did.
   */
  private async restartGracefully(
    victim: string,
    env: Record<string, string>,
  ): Promise<string | undefined> {
    const pid = this.mesh.pid(victim);
    const how = await this.mesh.terminate(victim, GRACEFUL_STOP_MS);
    await this.start(victim, env);
    if (how === 0) return undefined;
    return how === 'killed'
      ? `${victim} (pid ${pid}) did not exit within ${GRACEFUL_STOP_MS / 1000} s of SIGTERM: ` +
          `killed after a diagnostic report (report.*.${pid}.*.json beside the logs)`
      : `${victim} (pid ${pid}) exited with ${how} after SIGTERM`;
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** What a fault did, in the log's words. */
function action(f: Fault): { verb: string; span: string; detail: string } {
  switch (f.kind) {
    case 'kill':
      return { verb: 'kill -9', span: 'down', detail: '' };
    case 'delay':
      return { verb: 'delay', span: 'armed', detail: `FAILPOINTS=${f.failpoint}` };
    case 'pause':
      return { verb: 'SIGSTOP', span: 'for', detail: 'then SIGCONT' };
    case 'stall':
      return { verb: 'stall db', span: 'for', detail: 'MariaDB relay' };
  }
}

export function formatFault(f: Fault): string {
  const { verb, span, detail } = action(f);
  const extra = [detail, f.note].filter(Boolean).join(', ');
  return (
    `  #${String(f.n).padEnd(3)} ${secs(f.atMs).padStart(7)} ${f.at.slice(11, 23)}  ` +
    `${verb.padEnd(8)} ${f.victim.padEnd(13)} ${span.padEnd(5)} ${secs(f.holdMs).padStart(5)}` +
    `  back in ${secs(f.backMs).padStart(5)}${extra ? `  ${extra}` : ''}` +
    `  in flight: load[${f.load}] tx[${f.tx}]${f.error ? `  ERROR ${f.error}` : ''}`
  );
}
