import { expect } from 'chai';
import { Turns } from './turns';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('Turns', () => {
  it('gives a key to one run at a time, and other keys go on meanwhile', () => {
    const turns = new Turns();
    const first = turns.take('seat-1');
    expect(first).to.not.equal(undefined);
    expect(turns.take('seat-1')).to.equal(undefined);
    expect(turns.take('seat-2')).to.not.equal(undefined);
    first!.end();
    expect(turns.take('seat-1')).to.not.equal(undefined);
  });

  it('keeps waiters idle until the turn ends, and lets them through at once when none runs', async () => {
    const turns = new Turns();
    await turns.idle('free'); // nobody holds it: resolves at once
    const turn = turns.take('seat')!;
    let woke = 0;
    const waiters = [turns.idle('seat'), turns.idle('seat')].map((p) => p.then(() => woke++));
    await tick();
    expect(woke).to.equal(0);
    turn.end();
    await Promise.all(waiters);
    expect(woke).to.equal(2);
  });

  it('keeps a waiter idle through the next turn when one is taken before it wakes', async () => {
    const turns = new Turns();
    const first = turns.take('seat')!;
    let woke = false;
    const waiter = turns.idle('seat').then(() => {
      woke = true;
    });
    first.end();
    const second = turns.take('seat')!; // taken in the same tick, before the waiter runs
    await tick();
    expect(woke).to.equal(false);
    second.end();
    await waiter;
    expect(woke).to.equal(true);
  });
});
