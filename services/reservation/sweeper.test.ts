import { expect } from 'chai';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ExpirySweeper } from './sweeper';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A logger whose warnings land in an array, to check what the sweeper reports. */
function capturingLog() {
  const lines: { msg: string; reservationId?: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string; reservationId?: string });
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream), lines };
}

describe('expiry sweeper', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);

  it('asks to expire every overdue id it finds, at most 8 at once, and asks for 100 ids', async () => {
    let inFlight = 0;
    let peak = 0;
    const asked: string[] = [];
    let limit = 0;
    const sweeper = new ExpirySweeper(
      async (l) => {
        limit = l;
        return ids(30);
      },
      async (id) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(5);
        asked.push(id);
        inFlight--;
        return true;
      },
      capturingLog().log,
      { intervalMs: 1000 },
    );
    expect(await sweeper.sweep()).to.deep.equal({ found: 30, expired: 30, failed: 0 });
    expect(limit).to.equal(100);
    expect(peak).to.equal(8);
    expect([...asked].sort()).to.deep.equal(ids(30).sort());
  });

  it('logs a failed call and still asks about the others', async () => {
    const { log, lines } = capturingLog();
    const sweeper = new ExpirySweeper(
      async () => ['a', 'b', 'c'],
      async (id) => {
        if (id === 'b') throw new Error('coordinator unavailable');
        return id === 'a';
      },
      log,
      { intervalMs: 1000 },
    );
    expect(await sweeper.sweep()).to.deep.equal({ found: 3, expired: 1, failed: 1 });
    expect(lines.map((l) => [l.msg, l.reservationId])).to.deep.equal([
      ['could not expire an overdue hold; will retry', 'b'],
    ]);
  });

  it('survives a failed lookup and tries again next time', async () => {
    const { log, lines } = capturingLog();
    let calls = 0;
    const sweeper = new ExpirySweeper(
      async () => {
        calls++;
        if (calls === 1) throw new Error('db down');
        return [];
      },
      async () => true,
      log,
      { intervalMs: 1000 },
    );
    expect(await sweeper.sweep()).to.deep.equal({ found: 0, expired: 0, failed: 0 });
    expect(lines).to.have.length(1);
    expect(await sweeper.sweep()).to.deep.equal({ found: 0, expired: 0, failed: 0 });
    expect(calls).to.equal(2);
  });

  it('never overlaps passes: ticks during a slow pass start none, and stop waits for it', async () => {
    let lookups = 0;
    let running = 0;
    let overlapped = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sweeper = new ExpirySweeper(
      async () => {
        lookups++;
        return ['slow'];
      },
      async () => {
        running++;
        if (running > 1) overlapped = true;
        await gate;
        running--;
        return true;
      },
      capturingLog().log,
      { intervalMs: 10 },
    );
    sweeper.start();
    await sleep(80); // several ticks while the first pass is stuck
    expect(lookups).to.equal(1);
    const stopped = sweeper.stop();
    let done = false;
    void stopped.then(() => (done = true));
    await sleep(20);
    expect(done).to.equal(false);
    release();
    await stopped;
    expect(overlapped).to.equal(false);
    const after = lookups;
    await sleep(40);
    expect(lookups).to.equal(after); // the timer is gone
  });

  it('starts no new call once stopping, leaving the rest for the next run', async () => {
    const asked: string[] = [];
    const sweeper: ExpirySweeper = new ExpirySweeper(
      async () => ids(20),
      async (id) => {
        asked.push(id);
        if (asked.length === 1) void sweeper.stop();
        await sleep(1);
        return true;
      },
      capturingLog().log,
      { intervalMs: 1000, concurrency: 1 },
    );
    await sweeper.sweep();
    expect(asked).to.deep.equal(['r0']);
  });
});
