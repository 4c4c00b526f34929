import { expect } from 'chai';
import { RecentAnswers, type Answer } from './recent';

const answer = (text: string): Answer => ({ status: 200, body: Buffer.from(text) });

describe('RecentAnswers', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => {
    clock = 1000;
  });

  it('answers a repeat within the allowed age from the kept answer, and asks again after', async () => {
    const recent = new RecentAnswers(10, now);
    let asked = 0;
    const ask = async () => answer(`#${++asked}`);
    expect((await recent.answer('k', 250, ask)).body.toString()).to.equal('#1');
    clock += 250;
    expect((await recent.answer('k', 250, ask)).body.toString()).to.equal('#1');
    clock += 1;
    expect((await recent.answer('k', 250, ask)).body.toString()).to.equal('#2');
    expect((await recent.answer('other', 250, ask)).body.toString()).to.equal('#3');
  });

  it('counts an answer as old as the moment it was asked for', async () => {
    const recent = new RecentAnswers(10, now);
    await recent.answer('k', 250, async () => {
      clock += 200; // the service took 200 ms
      return answer('slow');
    });
    clock += 51;
    let asked = false;
    await recent.answer('k', 250, async () => {
      asked = true;
      return answer('new');
    });
    expect(asked).to.equal(true);
  });

  it('shares one call among concurrent misses, and keeps no failure', async () => {
    const recent = new RecentAnswers(10, now);
    let calls = 0;
    let fail!: (e: Error) => void;
    const failing = () => {
      calls++;
      return new Promise<Answer>((_, reject) => {
        fail = reject;
      });
    };
    const both = [recent.answer('k', 250, failing), recent.answer('k', 250, failing)];
    fail(new Error('down'));
    const outcomes = await Promise.allSettled(both);
    expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'rejected']);
    expect(calls).to.equal(1);
    expect((await recent.answer('k', 250, async () => answer('up'))).body.toString()).to.equal(
      'up',
    );
    expect(recent.size).to.equal(1);
  });

  it('drops expired answers as new ones come, and the oldest past capacity', async () => {
    const recent = new RecentAnswers(2, now);
    await recent.answer('a', 100, async () => answer('a'));
    await recent.answer('b', 100, async () => answer('b'));
    await recent.answer('c', 100, async () => answer('c'));
    expect(recent.size).to.equal(2); // a went: capacity
    clock += 500;
    await recent.answer('d', 100, async () => answer('d'));
    expect(recent.size).to.equal(1); // b and c had expired
  });
});
