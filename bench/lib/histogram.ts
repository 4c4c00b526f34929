// Latencies in an HdrHistogram: microsecond resolution, 3 significant digits, up to two minutes,
// so p99 is read from the recorded distribution and never averaged from samples.
import { build, type Histogram } from 'hdr-histogram-js';

/** Milliseconds, rounded to 0.01 ms. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

const HIGHEST_US = 120_000_000;

export class Latency {
  private readonly h: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: 3,
  });

  /** One sample, in milliseconds (a longer one is clamped to two minutes). */
  record(ms: number): void {
    const us = Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000)));
    this.h.recordValue(us);
  }

  /** Adds every sample of another histogram to this one. */
  add(other: Latency): void {
    this.h.add(other.h);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Milliseconds at a percentile (0-100); 0 when empty. */
  percentile(p: number): number {
    return this.count === 0 ? 0 : round(this.h.getValueAtPercentile(p) / 1000);
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    return {
      count: this.count,
      mean: round(this.h.mean / 1000),
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: round(this.h.maxValue / 1000),
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
