// Unit tests of the fault plan: the same seed draws the same faults, every kind comes early,
// kills are about half, and each kind's victims and durations are the ones its fault needs.
import { expect } from 'chai';
import {
  FAULT_KINDS,
  delayPoints,
  planFaults,
  tallyFaults,
  type Targets,
  type Timing,
} from './plan';
import { Rng } from './random';

const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'];
const TARGETS: Targets = {
  kill: ['coordinator-1', 'coordinator-2', 'queue', ...PARTICIPANTS, 'dataplatform', 'gateway'],
  delay: PARTICIPANTS,
  pause: ['coordinator-1', 'coordinator-2', ...PARTICIPANTS],
  stall: PARTICIPANTS,
};
const TIMING: Timing = { durationPerFaultMs: 4000, branchDeadlineMs: 2000, ttlMs: 6000 };
const plan = (seed: number, count: number, kinds = [...FAULT_KINDS], mode: 'saga' | 'xa' = 'xa') =>
  planFaults(new Rng(seed).fork(mode).fork('faults'), count, kinds, TARGETS, mode, TIMING);

describe('chaos fault plan', () => {
  it('replays exactly from a seed, and differs between seeds', () => {
    expect(plan(7, 50)).to.deep.equal(plan(7, 50));
    expect(plan(7, 50)).to.not.deep.equal(plan(8, 50));
  });

  it('opens with every kind once, so a short run meets each', () => {
    for (const seed of [1, 2, 3, 20261121]) {
      const kinds = plan(seed, 4).map((p) => p.kind);
      expect([...kinds].sort(), `seed ${seed}`).to.deep.equal([...FAULT_KINDS].sort());
    }
  });

  it('draws about half kills and the rest spread over the slowness kinds', () => {
    const plans = plan(11, 2000);
    const share = (kind: string) => plans.filter((p) => p.kind === kind).length / plans.length;
    expect(share('kill')).to.be.within(0.45, 0.55);
    for (const kind of ['delay', 'pause', 'stall']) expect(share(kind)).to.be.within(0.13, 0.2);
  });

  it('draws only the kinds asked for, and only kinds with a victim', () => {
    expect(new Set(plan(5, 100, ['kill']).map((p) => p.kind))).to.deep.equal(new Set(['kill']));
    const slow = new Set(plan(5, 100, ['pause', 'stall']).map((p) => p.kind));
    expect(slow).to.deep.equal(new Set(['pause', 'stall']));
    const rng = new Rng(1);
    const noStall = { ...TARGETS, stall: [] };
    const kinds = planFaults(rng, 50, [...FAULT_KINDS], noStall, 'saga', TIMING).map((p) => p.kind);
    expect(kinds).to.not.include('stall');
    expect(() => planFaults(rng, 1, ['stall'], noStall, 'saga', TIMING)).to.throw(/no fault kind/);
  });

  it('strikes each kind only where it means something, for as long as it needs', () => {
    const targets = TARGETS;
    for (const mode of ['saga', 'xa'] as const)
      for (const p of plan(3, 400, [...FAULT_KINDS], mode)) {
        expect(targets[p.kind]).to.include(p.victim);
        expect(p.waitMs).to.be.within(1000, 4000);
        switch (p.kind) {
          case 'kill':
            expect(p.holdMs).to.be.within(100, 9000);
            break;
          case 'delay': {
            // N*delay(ms) at a point of the victim, ms past the branch deadline.
            const m = /^(.+)=(\d)\*delay\((\d+)\)$/.exec(p.failpoint ?? '');
            expect(m, p.failpoint).to.not.equal(null);
            expect(delayPoints(mode, p.victim)).to.include(m![1]);
            expect(Number(m![3])).to.be.within(TIMING.branchDeadlineMs + 500, TIMING.ttlMs + 2000);
            break;
          }
          case 'pause':
            expect(p.holdMs).to.be.above(TIMING.ttlMs);
            break;
          case 'stall':
            expect(p.holdMs).to.be.within(1000, TIMING.ttlMs + 3000);
            break;
        }
      }
  });

  it('holds XA phase-2 calls only in XA', () => {
    expect(delayPoints('saga', 'point')).to.deep.equal(['participant.point.after-body']);
    expect(delayPoints('xa', 'point')).to.include.members([
      'participant.point.after-body',
      'participant.xa.before-prepare',
      'participant.xa.before-commit',
      'participant.xa.before-rollback',
    ]);
  });

  it('tallies faults by kind and victim', () => {
    expect(
      tallyFaults([
        { kind: 'kill', victim: 'point' },
        { kind: 'stall', victim: 'payment' },
        { kind: 'kill', victim: 'gateway' },
        { kind: 'kill', victim: 'point' },
      ]),
    ).to.equal('kill 3 (gateway 1, point 2); stall 1 (payment 1)');
    expect(tallyFaults([])).to.equal('none');
  });
});
