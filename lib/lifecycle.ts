// Orderly shutdown: everything that holds a connection, timer or server registers how to
// close itself; stop() closes them in reverse order of start, once.
import type { Logger } from './log';

type Closer = () => Promise<void> | void;

export class Lifecycle {
  private readonly closers: { name: string; close: Closer }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  onStop(name: string, close: Closer): void {
    this.closers.push({ name, close });
  }

  stop(): Promise<void> {
    this.stopping ??= this.closeAll();
    return this.stopping;
  }

  /** SIGTERM/SIGINT stop the process cleanly; a second signal exits at once. */
  handleSignals(exit: (code: number) => void = (c) => process.exit(c)): void {
    let signalled = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) exit(130);
      signalled = true;
      this.log.info({ signal: sig }, 'shutting down');
      this.stop().then(
        () => exit(0),
        (err: unknown) => {
          this.log.error({ err }, 'shutdown failed');
          exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  private async closeAll(): Promise<void> {
    for (const { name, close } of [...this.closers].reverse()) {
      try {
        await close();
      } catch (err) {
        this.log.warn({ err, component: name }, 'error while closing');
      }
    }
  }
}
