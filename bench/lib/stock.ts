// A first-in first-out supply of prepared work (users, seats, holds) that operations take from;
// taking from an empty stock ends the phase (Exhausted) rather than measuring set-up work.
import { Exhausted } from './load';

export class Stock<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly what: string) {}

  add(items: Iterable<T>): void {
    for (const item of items) this.items.push(item);
  }

  /** The next item; throws Exhausted when there is none. */
  take(): T {
    if (this.head >= this.items.length) throw new Exhausted(this.what);
    const item = this.items[this.head++];
    // Drop the consumed prefix now and then, so a long run does not keep every item alive.
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Takes up to n items (fewer when the stock runs out). */
  takeUpTo(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.size > 0) out.push(this.take());
    return out;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}
