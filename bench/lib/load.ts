// The two ways the bench applies load. Closed loop: N virtual users, each starts its next
// operation when the previous one answered (peak throughput). Open loop: operations start on a
// fixed schedule whatever the answers (latency at a given rate); each latency is measured from
// the operation's scheduled start, so a stalled server cannot hide its queue (no coordinated
// omission).
import { performance } from 'node:perf_hooks';
import type { Progress } from './progress';

/** Thrown by an operation when there is nothing left to work on (seats, holds, users). */
export class Exhausted extends Error {
  constructor(what: string) {
    super(`ran out of ${what}`);
  }
}

export function now(): number {
  return performance.now();
}

export interface LoopResult {
  /** Operations that returned true. */
  ok: number;
  /** Operations that returned false or threw (not Exhausted). */
  failed: number;
  elapsedMs: number;
  /** True when the phase ended early because an operation ran out of work. */
  exhausted: boolean;
}

export interface ClosedLoopOptions {
  label: string;
  users: number;
  /** Stop starting operations after this long... */
  durationMs?: number;
  /** ...or after this many have started (whichever comes first). */
  count?: number;
  progress?: Progress;
}

/**
 * Runs `op(vu)` in `users` concurrent loops. An operation resolves true when it completed its
 * flow; it records its own latencies. Returns when every loop has stopped.
 */
export async function closedLoop(
  opts: ClosedLoopOptions,
  op: (vu: number) => Promise<boolean>,
): Promise<LoopResult> {
  if (opts.durationMs === undefined && opts.count === undefined)
    throw new Error('closedLoop needs a duration or a count');
  const start = now();
  const until = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const limit = opts.count ?? Infinity;
  let started = 0;
  let ok = 0;
  let failed = 0;
  let exhausted = false;
  const fraction = () =>
    Math.max(
      opts.durationMs ? (now() - start) / opts.durationMs : 0,
      Number.isFinite(limit) ? started / limit : 0,
    );
  const ticker = setInterval(() => report(opts, fraction(), ok, failed, start), 100);
  const loop = async (vu: number) => {
    while (!exhausted && started < limit && now() < until) {
      started++;
      try {
        if (await op(vu)) ok++;
        else failed++;
      } catch (err) {
        if (err instanceof Exhausted) exhausted = true;
        else failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.users }, (_, vu) => loop(vu)));
  } finally {
    clearInterval(ticker);
  }
  report(opts, 1, ok, failed, start);
  return { ok, failed, elapsedMs: now() - start, exhausted };
}

export interface OpenLoopOptions {
  label: string;
  /** Operations started per second. */
  rate: number;
  durationMs: number;
  progress?: Progress;
}

/**
 * Starts `op(scheduledAt)` `rate` times a second for `durationMs`, never waiting for answers
 * (timers fire every millisecond or so; every operation due by then starts at once). Resolves
 * when the last operation has answered.
 */
export async function openLoop(
  opts: OpenLoopOptions,
  op: (scheduledAt: number) => Promise<boolean>,
): Promise<LoopResult> {
  const start = now();
  const total = Math.max(1, Math.floor((opts.rate * opts.durationMs) / 1000));
  const interval = 1000 / opts.rate;
  let issued = 0;
  let ok = 0;
  let failed = 0;
  let exhausted = false;
  const inFlight = new Set<Promise<void>>();
  const ticker = setInterval(
    () => report(opts, (now() - start) / opts.durationMs, ok, failed, start),
    100,
  );
  const fire = (scheduledAt: number) => {
    const p: Promise<void> = op(scheduledAt).then(
      (r) => {
        if (r) ok++;
        else failed++;
      },
      (err) => {
        if (err instanceof Exhausted) exhausted = true;
        else failed++;
      },
    );
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  try {
    while (issued < total && !exhausted) {
      const t = now();
      while (issued < total && start + issued * interval <= t && !exhausted) {
        fire(start + issued * interval);
        issued++;
      }
      if (issued >= total || exhausted) break;
      // Always yield (at least a timer tick): answers, and an Exhausted, are seen in between.
      await sleep(Math.max(1, start + issued * interval - now()));
    }
    await Promise.all([...inFlight]);
  } finally {
    clearInterval(ticker);
  }
  report(opts, 1, ok, failed, start);
  return { ok, failed, elapsedMs: now() - start, exhausted };
}

function report(
  opts: { label: string; progress?: Progress },
  fraction: number,
  ok: number,
  failed: number,
  start: number,
): void {
  if (!opts.progress) return;
  const secs = (now() - start) / 1000;
  const rate = secs > 0 ? Math.round(ok / secs) : 0;
  opts.progress.update(fraction, `ok=${ok} err=${failed} ${rate}/s ${secs.toFixed(1)}s`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
