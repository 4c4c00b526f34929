// Pauses of a mesh process under bench load: garbage collections and event-loop stalls, for
// explaining latency tails. Loaded with NODE_OPTIONS=--require (which refuses --trace-gc):
//   run.js --mesh-env NODE_OPTIONS="--require <repo>/dist/bench/pause-hook.js" \
//          --mesh-env BENCH_PAUSE_DIR=/tmp/pauses
// appends one line per pause of at least BENCH_PAUSE_MIN_MS (default 20) to <dir>/<pid>.log:
// the time, what paused (a GC's kind, or "event loop" when a 50 ms timer fired that late), how
// long, and for a GC the heap in use when it is reported (soon after it: after a major GC, about
// what is live).
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const dir = process.env.BENCH_PAUSE_DIR;
if (dir) {
  const minMs = Number(process.env.BENCH_PAUSE_MIN_MS ?? 20);
  const file = join(dir, `${process.pid}.log`);
  const note = (what: string, ms: number, after = '') =>
    appendFileSync(file, `${new Date().toISOString()} ${what} ${ms.toFixed(1)} ms${after}\n`);
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'gc major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'gc minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'gc incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'gc weak callbacks',
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      if (e.duration < minMs) continue;
      const heapMb = getHeapStatistics().used_heap_size / 2 ** 20;
      note(kinds[e.detail?.kind ?? -1] ?? 'gc', e.duration, `, heap after ${heapMb.toFixed(0)} MB`);
    }
  }).observe({ entryTypes: ['gc'] });
  const TICK_MS = 50;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last - TICK_MS >= minMs) note('event loop', now - last - TICK_MS);
    last = now;
  }, TICK_MS).unref();
}
