import { expect } from 'chai';
import { Latency } from './histogram';
import { Exhausted, closedLoop, now, openLoop, sleep } from './load';
import { Stock } from './stock';

describe('load drivers', () => {
  it('runs a closed loop for a count, never more than `users` at once', async () => {
    let running = 0;
    let peak = 0;
    const r = await closedLoop({ label: 't', users: 3, count: 20 }, async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(2);
      running--;
      return true;
    });
    expect(r).to.deep.include({ ok: 20, failed: 0, exhausted: false });
    expect(peak).to.equal(3);
  });

  it('counts false and thrown results as failures, and stops early when the stock runs out', async () => {
    const stock = new Stock<number>('numbers');
    stock.add([1, 2, 3, 4, 5, 6]);
    const r = await closedLoop({ label: 't', users: 2, durationMs: 5000 }, async () => {
      const n = stock.take();
      if (n === 2) throw new Error('boom');
      await sleep(1);
      return n % 3 !== 0;
    });
    expect(r.exhausted).to.equal(true);
    expect(r.ok + r.failed).to.equal(6);
    expect(r.failed).to.equal(3);
    expect(r.elapsedMs).to.be.below(1000);
  });

  it('stops a closed loop at its duration', async () => {
    const r = await closedLoop({ label: 't', users: 2, durationMs: 60 }, async () => {
      await sleep(5);
      return true;
    });
    expect(r.elapsedMs).to.be.within(55, 200);
    expect(r.ok).to.be.within(10, 30);
  });

  it('starts an open loop on schedule, whatever the answers take, and hands each its scheduled start', async () => {
    const late: number[] = [];
    const start = now();
    const r = await openLoop({ label: 't', rate: 200, durationMs: 100 }, async (scheduledAt) => {
      late.push(now() - scheduledAt);
      // Much slower than the interval: a closed loop of one would take 20 × 50 ms.
      await sleep(50);
      return true;
    });
    expect(r.ok).to.equal(20);
    // Timers run late on a busy machine, never by the length of an answer.
    expect(Math.max(...late)).to.be.below(100);
    expect(now() - start).to.be.below(600);
  });

  it('ends an open loop when an operation runs out of work', async () => {
    let n = 0;
    const r = await openLoop({ label: 't', rate: 1000, durationMs: 1000 }, async () => {
      if (++n > 5) throw new Exhausted('things');
      return true;
    });
    expect(r.exhausted).to.equal(true);
    expect(r.ok).to.equal(5);
    expect(r.elapsedMs).to.be.below(500);
  });
});

describe('latency histogram', () => {
  it('reads percentiles from the recorded distribution, in ms', () => {
    const h = new Latency();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 … 100 ms
    const s = h.summary();
    expect(s.count).to.equal(1000);
    expect(s.p50).to.be.closeTo(50, 0.1);
    expect(s.p95).to.be.closeTo(95, 0.1);
    expect(s.p99).to.be.closeTo(99, 0.1);
    expect(s.max).to.be.closeTo(100, 0.1);
    expect(s.mean).to.be.closeTo(50.05, 0.1);
  });

  it('summarises an empty histogram as zeros and merges histograms', () => {
    expect(new Latency().summary()).to.deep.equal({
      count: 0,
      mean: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      max: 0,
    });
    const a = new Latency();
    const b = new Latency();
    a.record(1);
    b.record(3);
    a.add(b);
    expect(a.summary()).to.deep.include({ count: 2, max: 3 });
  });
});

describe('stock', () => {
  it('hands items out first in, first out, and throws Exhausted when empty', () => {
    const s = new Stock<number>('seats');
    s.add([1, 2]);
    s.add([3]);
    expect([s.take(), s.take()]).to.deep.equal([1, 2]);
    expect(s.takeUpTo(5)).to.deep.equal([3]);
    expect(s.size).to.equal(0);
    expect(() => s.take()).to.throw(Exhausted, 'ran out of seats');
  });

  it('keeps its order while dropping the consumed prefix of a long run', () => {
    const s = new Stock<number>('n');
    s.add(Array.from({ length: 10_000 }, (_, i) => i));
    for (let i = 0; i < 6000; i++) expect(s.take()).to.equal(i);
    s.add([10_000]);
    expect(s.size).to.equal(4001);
    expect(s.take()).to.equal(6000);
  });
});
