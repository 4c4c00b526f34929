// A one-line progress bar on stderr, redrawn with \r at most five times a second. When stderr is
// not a terminal (CI, make test) there is no bar: only the one-line result of each phase.

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

const WIDTH = 24;
const REDRAW_MS = 200;

export class Progress {
  private label = '';
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: ProgressSink = process.stderr,
    private readonly clock: () => number = Date.now,
  ) {}

  get live(): boolean {
    return this.out.isTTY === true;
  }

  /** Starts a new phase's bar. */
  start(label: string): void {
    this.label = label;
    this.lastDraw = -Infinity;
    this.drawn = false;
  }

  /** fraction 0..1 of the phase done; info is a short status (counts, rate). */
  update(fraction: number, info: string): void {
    if (!this.live) return;
    const now = this.clock();
    if (now - this.lastDraw < REDRAW_MS && fraction < 1) return;
    this.lastDraw = now;
    this.drawn = true;
    this.out.write(`\r${fit(bar(fraction, this.label, info), this.out.columns)}\x1b[K`);
  }

  /** Ends the phase: clears the bar and writes one line (always, TTY or not). */
  done(line: string): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
    this.out.write(`${line}\n`);
  }

  /** A message between phases (setup, clean-up). */
  note(line: string): void {
    this.done(line);
  }
}

/** The bar's text: `[#####-----]  50% label info`. */
export function bar(fraction: number, label: string, info: string): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * WIDTH);
  const pct = `${Math.round(f * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${pct} ${label} ${info}`.trimEnd();
}

function fit(text: string, columns: number | undefined): string {
  return columns && text.length >= columns ? text.slice(0, columns - 1) : text;
}
