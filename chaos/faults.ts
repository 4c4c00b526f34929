// The fault injector: at random moments, kill -9 a random process of the mesh, leave it down
// for a moment, start it again and wait until it serves. Every fault is logged with what was in
// flight when it struck. The data-platform mock is never a victim: it is the outside world and
// holds the record of what was delivered.
import type { MeshRunner } from '../ops/mesh-runner';
import type { Load } from './load';
import type { Observer } from './observe';
import type { Rng } from './random';

/** The killable process groups (one service each) and what dies with them. */
export const VICTIMS: Record<string, string> = {
  coordinator: 'transaction log, recovery loop',
  queue: 'waiting room, end-token consumer',
  concert: 'participant, outbox relay, ranking consumer',
  reservation: 'participant, outbox relay, expiry sweep',
  payment: 'participant, outbox relay',
  point: 'participant, outbox relay',
  dataplatform: 'delivery consumer',
  gateway: 'REST gateway',
};

export interface FaultOptions {
  faults: number;
  /** A fault strikes after a random pause of a quarter to all of this. */
  durationPerFaultMs: number;
}

/** Most victims are back within a moment; one in five stays down past a transaction's TTL. */
const SHORT_OUTAGE_MS: [number, number] = [100, 1500];
const LONG_OUTAGE_MS: [number, number] = [4000, 9000];
const LONG_OUTAGE_SHARE = 0.2;

export interface Fault {
  n: number;
  /** Milliseconds since the faults began. */
  atMs: number;
  /** Wall-clock time of the kill, to find it in the processes' logs. */
  at: string;
  victim: string;
  pid: number | undefined;
  /** Client calls waiting for an answer when it struck. */
  load: string;
  /** Open global transactions and prepared branches when it struck. */
  tx: string;
  downMs: number;
  /** From the restart until the process and the gateway's readiness said it serves again. */
  backMs: number;
  error?: string;
}

export interface Incident {
  atMs: number;
  group: string;
  code: number | null;
  signal: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FaultInjector {
  readonly faults: Fault[] = [];
  readonly incidents: Incident[] = [];
  private readonly began = Date.now();
  /** A group being killed and restarted by us right now. */
  private handling: string | undefined;

  constructor(
    private readonly runner: MeshRunner,
    private readonly rng: Rng,
    private readonly load: Load,
    private readonly observer: Observer,
    private readonly opts: FaultOptions,
    private readonly print: (line: string) => void,
  ) {
    // A process that dies on its own is a finding: log it and bring it back.
    const onExit = (group: string, code: number | null, signal: NodeJS.Signals | null) => {
      this.incidents.push({ atMs: Date.now() - this.began, group, code, signal });
      this.print(`  !! ${group} exited on its own (code ${code}, signal ${signal}); restarting it`);
      // Unless the run has ended meanwhile (the handler is removed then).
      if (this.handling !== group)
        setTimeout(() => runner.onUnexpectedExit === onExit && runner.restart(group), 500);
    };
    runner.onUnexpectedExit = onExit;
  }

  async run(): Promise<void> {
    const names = Object.keys(VICTIMS);
    const d = this.opts.durationPerFaultMs;
    for (let n = 1; n <= this.opts.faults; n++) {
      // Drawn up front, so the schedule depends on the seed alone.
      const pause = this.rng.int(Math.round(d / 4), d);
      const victim = this.rng.pick(names);
      const downMs = this.rng.int(
        ...(this.rng.chance(LONG_OUTAGE_SHARE) ? LONG_OUTAGE_MS : SHORT_OUTAGE_MS),
      );
      await sleep(pause);
      const fault = await this.strike(n, victim, downMs);
      this.faults.push(fault);
      this.print(formatFault(fault));
    }
  }

  private async strike(n: number, victim: string, downMs: number): Promise<Fault> {
    this.handling = victim;
    const now = Date.now();
    const atMs = now - this.began;
    const load = this.load.inFlightSummary() || '-';
    const tx = (await this.observer.inFlight().catch((e: Error) => `? ${e.message}`)) || '-';
    const pid = this.runner.pid(victim);
    const at = new Date(now).toISOString();
    const fault: Fault = { n, atMs, at, victim, pid, load, tx, downMs, backMs: 0 };
    try {
      await this.runner.kill(victim);
      await sleep(downMs);
      const restarted = Date.now();
      for (let attempt = 1; ; attempt++) {
        this.runner.restart(victim);
        try {
          await this.runner.waitStarted(victim, 60_000);
          break;
        } catch (err) {
          // It died while starting (an incident is logged): start it again, a few times.
          if (this.runner.alive(victim) || attempt === 3) throw err;
          await sleep(500);
        }
      }
      await this.runner.waitReady(60_000);
      fault.backMs = Date.now() - restarted;
    } catch (err) {
      fault.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.handling = undefined;
    }
    return fault;
  }
}

export function formatFault(f: Fault): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  return (
    `  #${String(f.n).padEnd(3)} ${s(f.atMs).padStart(7)} ${f.at.slice(11, 23)}  kill -9 ${f.victim.padEnd(12)}` +
    ` down ${s(f.downMs).padStart(5)}  back in ${s(f.backMs).padStart(5)}` +
    `  in flight: load[${f.load}] tx[${f.tx}]${f.error ? `  ERROR ${f.error}` : ''}`
  );
}
