// How long a waiting token will probably wait: from the recent admission rate when there is
// one, never more than the worst case the rules allow, and exact-ish when a slot is already free.

/** Admissions are counted over this many seconds to measure the rate. */
export const ADMISSION_WINDOW_SECONDS = 60;

export interface WaitInputs {
  /** 1-based place in line; 0 (or less) when already ACTIVE. */
  position: number;
  /** ACTIVE tokens right now. */
  activeCount: number;
  maxActive: number;
  /** Tokens admitted (by a tick or on issue) in the last `windowSeconds`. */
  admittedInWindow: number;
  windowSeconds: number;
  activeTtlSeconds: number;
  admitIntervalMs: number;
}

const INT32_MAX = 2_147_483_647;

export function estimateWaitSeconds(i: WaitInputs): number {
  if (i.position <= 0) return 0;
  // Admission happens on ticks, so even a free slot is only taken at the next one.
  const tick = Math.max(1, Math.ceil(i.admitIntervalMs / 1000));
  const free = Math.max(0, i.maxActive - i.activeCount);
  if (i.position <= free) return tick;
  const worst = worstCaseWaitSeconds(i.position - free, i.maxActive, i.activeTtlSeconds, tick);
  const rate = i.windowSeconds > 0 ? i.admittedInWindow / i.windowSeconds : 0;
  const byRate = rate > 0 ? tick + Math.ceil(i.position / rate) : worst;
  return Math.min(byRate, worst, INT32_MAX);
}

/**
 * An upper bound: slots are all taken, every ACTIVE token lives at most `ttl` seconds, and a
 * freed slot is filled at the next tick, so each batch of `maxActive` ahead costs ttl + tick.
 * Ends and idle dropouts only make it shorter.
 */
export function worstCaseWaitSeconds(
  behindFreeSlots: number,
  maxActive: number,
  activeTtlSeconds: number,
  tickSeconds: number,
): number {
  const batches = Math.ceil(behindFreeSlots / Math.max(1, maxActive));
  return tickSeconds + batches * (activeTtlSeconds + tickSeconds);
}
