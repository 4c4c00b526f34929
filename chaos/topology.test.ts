// Unit tests of the chaos topology's fault targets: both coordinators can be killed and paused,
// the databases of participants only are stalled, and the mock is never struck.
import { expect } from 'chai';
import { coordinatorNames, faultTargets } from './topology';

describe('chaos topology', () => {
  it('names one coordinator as before, several by number', () => {
    expect(coordinatorNames(1)).to.deep.equal(['coordinator']);
    expect(coordinatorNames(2)).to.deep.equal(['coordinator-1', 'coordinator-2']);
  });

  it('lets either coordinator be killed and paused, and never strikes the mock', () => {
    const targets = faultTargets(2);
    expect(targets.kill).to.include.members(['coordinator-1', 'coordinator-2', 'gateway']);
    expect(targets.pause).to.include.members(['coordinator-1', 'coordinator-2', 'point']);
    expect(targets.stall).to.deep.equal(['concert', 'reservation', 'payment', 'point']);
    expect(targets.delay).to.deep.equal(targets.stall);
    expect(Object.values(targets).flat()).to.not.include('mock');
    expect(faultTargets(1).kill).to.include('coordinator');
  });
});
