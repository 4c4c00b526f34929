// Recent successful answers of routes that allow staleness (max_staleness_ms), by caller and
// request. A repeat within the allowed age gets the kept answer; concurrent misses share one
// service call. Bounded: past `capacity` the oldest answer goes, and expired ones go as new
// answers arrive.
import { setBounded } from '../lib/bounded';
import { SharedCalls } from '../lib/sharedCalls';

export interface Answer {
  status: number;
  body: Buffer;
}

interface Kept {
  answer: Answer;
  expiresAt: number;
}

export class RecentAnswers {
  private readonly kept = new Map<string, Kept>();
  private readonly asking = new SharedCalls<Answer>();

  constructor(
    private readonly capacity = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The kept answer of `key` if at most `maxAgeMs` old, else the answer of `ask` (kept). */
  answer(key: string, maxAgeMs: number, ask: () => Promise<Answer>): Promise<Answer> {
    const kept = this.kept.get(key);
    if (kept && this.now() <= kept.expiresAt) return Promise.resolve(kept.answer);
    // An answer is as old as the moment it was asked for.
    return this.asking.share(key, async () => {
      const askedAt = this.now();
      const answer = await ask();
      this.keep(key, { answer, expiresAt: askedAt + maxAgeMs });
      return answer;
    });
  }

  get size(): number {
    return this.kept.size;
  }

  private keep(key: string, kept: Kept): void {
    const now = this.now();
    for (const [oldest, k] of this.kept) {
      if (k.expiresAt >= now) break;
      this.kept.delete(oldest);
    }
    setBounded(this.kept, this.capacity, key, kept);
  }
}
