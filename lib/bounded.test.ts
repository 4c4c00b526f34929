import { expect } from 'chai';
import { setBounded } from './bounded';

describe('setBounded', () => {
  it('drops the oldest entries past capacity, and a set key counts as newest', () => {
    const m = new Map<string, number>();
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      setBounded(m, 3, k, v);
    setBounded(m, 3, 'a', 10); // renewed: now newest
    setBounded(m, 3, 'd', 4); // full: b, the oldest, goes
    expect([...m]).to.deep.equal([
      ['c', 3],
      ['a', 10],
      ['d', 4],
    ]);
    setBounded(m, 1, 'e', 5); // a smaller capacity drops as many as needed
    expect([...m]).to.deep.equal([['e', 5]]);
  });
});
