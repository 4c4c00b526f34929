import { expect } from 'chai';
import { estimateWaitSeconds, worstCaseWaitSeconds, type WaitInputs } from './estimate';

const base: WaitInputs = {
  position: 1,
  activeCount: 10,
  maxActive: 10,
  admittedInWindow: 0,
  windowSeconds: 60,
  activeTtlSeconds: 600,
  admitIntervalMs: 1000,
};

describe('wait estimate', () => {
  it('is 0 for an active token', () => {
    expect(estimateWaitSeconds({ ...base, position: 0 })).to.equal(0);
  });

  it('is one tick when a slot is already free for this place in line', () => {
    expect(estimateWaitSeconds({ ...base, activeCount: 7, position: 3 })).to.equal(1);
    expect(
      estimateWaitSeconds({ ...base, activeCount: 7, position: 3, admitIntervalMs: 2500 }),
    ).to.equal(3);
    // A sub-second tick still rounds up to a whole second.
    expect(estimateWaitSeconds({ ...base, activeCount: 0, admitIntervalMs: 10 })).to.equal(1);
  });

  it('falls back to the worst case when nothing was admitted recently', () => {
    // 25 behind full slots of 10: 3 batches of (600 s life + 1 s tick), plus the first tick.
    expect(estimateWaitSeconds({ ...base, position: 25 })).to.equal(1 + 3 * 601);
    expect(worstCaseWaitSeconds(25, 10, 600, 1)).to.equal(1804);
    expect(worstCaseWaitSeconds(10, 10, 600, 1)).to.equal(602);
    expect(worstCaseWaitSeconds(11, 10, 600, 1)).to.equal(1203);
  });

  it('uses the recent admission rate', () => {
    // 120 admitted in 60 s = 2/s: position 30 waits about 15 s, plus the tick.
    expect(estimateWaitSeconds({ ...base, position: 30, admittedInWindow: 120 })).to.equal(16);
    // 1 admitted in 60 s: position 7 → 420 s, still under the worst case (602).
    expect(estimateWaitSeconds({ ...base, position: 7, admittedInWindow: 1 })).to.equal(421);
  });

  it('never exceeds the worst case, whatever the rate says', () => {
    const slow = { ...base, position: 5, admittedInWindow: 1, activeTtlSeconds: 60 };
    expect(estimateWaitSeconds(slow)).to.equal(worstCaseWaitSeconds(5, 10, 60, 1));
  });

  it('counts free slots before the full ones in the worst case', () => {
    // 4 slots free, position 6: 2 behind them, one batch.
    expect(estimateWaitSeconds({ ...base, activeCount: 6, position: 6 })).to.equal(1 + 601);
  });

  it('stays within int32', () => {
    const huge = {
      ...base,
      position: 2_000_000_000,
      maxActive: 1,
      activeCount: 1,
      activeTtlSeconds: 86400,
    };
    expect(estimateWaitSeconds(huge)).to.equal(2_147_483_647);
  });
});
