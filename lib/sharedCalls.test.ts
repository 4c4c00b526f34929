import { expect } from 'chai';
import { SharedCalls } from './sharedCalls';

describe('SharedCalls', () => {
  it('shares one answer among those asking while it is under way, then asks anew', async () => {
    const calls = new SharedCalls<string>();
    let asked = 0;
    let answer!: (v: string) => void;
    const ask = () => {
      asked++;
      return new Promise<string>((r) => {
        answer = r;
      });
    };
    const together = [calls.share('seat', ask), calls.share('seat', ask)];
    const other = calls.share('other', () => Promise.resolve('other'));
    answer('taken');
    expect(await Promise.all(together)).to.deep.equal(['taken', 'taken']);
    expect(await other).to.equal('other');
    expect(asked).to.equal(1);
    const later = calls.share('seat', ask);
    answer('free');
    expect(await later).to.equal('free');
    expect(asked).to.equal(2);
  });

  it('forgets a failed answer, so the next ask is a new one', async () => {
    const calls = new SharedCalls<string>();
    const failed = calls.share('seat', () => Promise.reject(new Error('down')));
    await failed.then(
      () => expect.fail('should fail'),
      (err: Error) => expect(err.message).to.equal('down'),
    );
    expect(await calls.share('seat', () => Promise.resolve('up'))).to.equal('up');
  });
});
