import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { rankingLimit } from './ranking';

describe('ranking limit', () => {
  it('defaults to 10 and accepts 1 to 100', () => {
    expect(rankingLimit(undefined)).to.equal(10);
    expect(rankingLimit(1)).to.equal(1);
    expect(rankingLimit(100)).to.equal(100);
  });

  it('refuses anything else as INVALID_ARGUMENT on field limit', () => {
    for (const bad of [0, -1, 101, 2.5]) {
      try {
        rankingLimit(bad);
        expect.fail(`accepted ${bad}`);
      } catch (err) {
        expect(err).to.be.instanceOf(DomainError);
        expect((err as DomainError).reason).to.equal('INVALID_ARGUMENT');
        expect((err as DomainError).metadata).to.deep.equal({ field: 'limit' });
      }
    }
  });
});
