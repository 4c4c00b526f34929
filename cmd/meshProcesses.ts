// MESH_PROCESSES=2 with SERVICES=all: the mesh on both cores of a machine. This process hosts the
// front — the gateway, the waiting room, the coordinator, ops and the bundled mock — and starts a
// second one for the participants and the data platform, which do the SQL. Either way every
// service is still reached over gRPC, so the split changes no behaviour, only which process's
// event loop runs what (docs/performance.md). The second process lives and dies with the first:
// it stops when the first stops or disappears, and the first stops if the second ever exits.
import { fork, type ChildProcess } from 'node:child_process';
import type { Config, ServiceName } from '../lib/config';
import type { Logger } from '../lib/log';

/** What the first process keeps; everything else of SERVICES=all goes to the second. */
const FRONT: readonly ServiceName[] = [
  'gateway',
  'queue',
  'coordinator',
  'ops',
  'dataplatform-mock',
];
/** How long the second process may take to stop before it is killed. */
const STOP_GRACE_MS = 20_000;
const READY = 'mesh part ready';

/** The services of each process: all here, or split in two. */
export function splitServices(config: Config): { here: ServiceName[]; there: ServiceName[] } {
  if (config.meshProcesses < 2) return { here: config.services, there: [] };
  return {
    here: config.services.filter((s) => FRONT.includes(s)),
    there: config.services.filter((s) => !FRONT.includes(s)),
  };
}

/** The second process of the mesh, as the first one sees it. */
export class SecondProcess {
  private stopping = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<number | null>,
  ) {}

  /**
   * Starts this same program hosting `services`, and resolves once all of them started.
   * `onLost` is called if it exits at any time it was not asked to.
   */
  static async start(
    services: ServiceName[],
    config: Config,
    log: Logger,
    onLost: () => void,
  ): Promise<SecondProcess> {
    const child = fork(process.argv[1], process.argv.slice(2), {
      env: {
        ...process.env,
        SERVICES: services.join(','),
        MESH_PROCESSES: '1',
        // Its own metrics port, next to this one's (0: any free port, as here).
        METRICS_PORT: String(config.metricsPort === 0 ? 0 : config.metricsPort + 1),
      },
      stdio: 'inherit',
      // Its own process group: a Ctrl-C in the terminal reaches the first process only, which
      // then stops this one in its turn, after the services that call it.
      detached: true,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const second = new SecondProcess(child, exited);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m) => {
        if (m === READY) resolve();
      });
      void exited.then((code) => reject(new Error(`the second mesh process exited with ${code}`)));
    });
    void exited.then((code) => {
      if (second.stopping) return;
      log.error({ code, services }, 'the second mesh process exited; stopping the mesh');
      onLost();
    });
    log.info({ pid: child.pid, services }, 'second mesh process ready');
    return second;
  }

  /** Asks it to stop as it stops on SIGTERM, and waits; kills it past the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
  }
}

/**
 * In the second process (started by SecondProcess): tells the first it is ready, and stops as
 * on SIGTERM when the first disappears (its channel closes), so it is never left behind.
 */
export function serveAsSecondProcess(stop: () => void): { ready(): void } {
  if (!process.send) return { ready: () => undefined };
  process.once('disconnect', stop);
  return { ready: () => process.send?.(READY) };
}
