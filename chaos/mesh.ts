// The mesh runner with what slowness faults need beyond kill -9 and restart: a graceful stop of
// one process (to arm or disarm failpoints without a crash of its own), SIGSTOP/SIGCONT, and
// the relays of its topology, which live as long as its processes.
import { MeshRunner } from '../ops/mesh-runner';
import type { RunVhost } from '../ops/isolation';
import type { Topology } from './topology';

/**
 * NODE_OPTIONS for the mesh's processes: SIGUSR2 writes a diagnostic report (JavaScript stack,
 * open sockets and timers) into `dir`, so a process that will not stop says what holds it.
 */
export function reportOptions(dir: string, inherited = ''): string {
  // NODE_OPTIONS splits on spaces outside double quotes.
  const where = /\s/.test(dir) ? JSON.stringify(dir) : dir;
  return [inherited, '--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${where}`]
    .filter(Boolean)
    .join(' ');
}

export class ChaosMesh extends MeshRunner {
  /** Processes stopped by pause() and not continued yet, by group. */
  private readonly paused = new Set<string>();

  constructor(
    readonly topology: Topology,
    env: Record<string, string>,
    id: string,
    vhost: RunVhost,
    logFor: (group: string) => string,
  ) {
    super(env, id, logFor('mesh'), vhost, topology.groups, logFor);
  }

  /**
   * SIGTERM one process and wait for its clean exit (it finishes the calls it is running).
   * One that has not exited after graceMs is asked for a Node diagnostic report (SIGUSR2, see
   * REPORT_OPTIONS: its stack and every handle it still holds open), then killed. Resolves with
   * its exit code, or 'killed'.
   */
  async terminate(name: string, graceMs = 20_000): Promise<number | 'killed'> {
    const g = this.group(name);
    const child = g.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? 0;
    g.stopping = true;
    const gone = this.exited(name, graceMs + 30_000);
    child.kill('SIGTERM');
    const report = setTimeout(() => child.kill('SIGUSR2'), graceMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 3000);
    try {
      const how = await gone;
      return typeof how === 'number' ? how : 'killed';
    } finally {
      clearTimeout(report);
      clearTimeout(kill);
    }
  }

  /** SIGSTOP: the process and its connections freeze, nothing is closed. */
  pause(name: string): void {
    const child = this.group(name).child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      throw new Error(`cannot pause ${name}: not running`);
    child.kill('SIGSTOP');
    this.paused.add(name);
  }

  /** SIGCONT a process pause() stopped. */
  resume(name: string): void {
    if (!this.paused.delete(name)) return;
    const child = this.group(name).child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
  }

  /**
   * Continues whatever is still paused (a stopped process would not act on SIGTERM), stops
   * every process, then closes the relays they talked through.
   */
  override async stop(): Promise<(number | null)[]> {
    for (const name of [...this.paused]) this.resume(name);
    for (const relay of this.topology.relays) relay.resume();
    try {
      return await super.stop();
    } finally {
      await this.topology.close();
    }
  }
}
