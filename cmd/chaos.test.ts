// Unit tests of cmd/chaos.ts's arguments, and of the seed that makes a run replayable.
import { expect } from 'chai';
import { Rng } from '../chaos/random';
import { UsageError, parseChaosArgs } from './chaos';

describe('chaos command (arguments and seed)', () => {
  it('defaults to 50 faults of every kind in both modes, two coordinators, a random seed', () => {
    expect(parseChaosArgs([], () => 42)).to.deep.equal({
      faults: 50,
      kinds: ['kill', 'delay', 'pause', 'stall'],
      coordinators: 2,
      modes: ['saga', 'xa'],
      seed: 42,
      durationPerFaultMs: 4000,
      vus: 6,
      quietTimeoutMs: 120_000,
      settleMs: 30_000,
      keep: false,
    });
  });

  it('reads every option, spaced or with =', () => {
    const opts = parseChaosArgs([
      '--faults',
      '3',
      '--modes=xa',
      '--seed',
      '7',
      '--duration-per-fault=1500',
      '--vus',
      '2',
      '--quiet-timeout',
      '5000',
      '--keep',
      '--kinds',
      'stall,kill',
      '--coordinators=1',
    ]);
    expect(opts).to.include({
      faults: 3,
      seed: 7,
      durationPerFaultMs: 1500,
      vus: 2,
      quietTimeoutMs: 5000,
      keep: true,
      coordinators: 1,
    });
    expect(opts).to.have.deep.property('modes', ['xa']);
    expect(opts).to.have.deep.property('kinds', ['kill', 'stall']);
  });

  it('refuses what it does not understand', () => {
    for (const argv of [
      ['--faults'],
      ['--faults', '-1'],
      ['--modes', 'saga,2pc'],
      ['--seed', 'x'],
      ['--duration-per-fault', '10'],
      ['--kinds', 'kill,flood'],
      ['--kinds', ''],
      ['--coordinators', '0'],
      ['--coordinators', '5'],
      ['--what'],
    ])
      expect(() => parseChaosArgs(argv), argv.join(' ')).to.throw(UsageError);
    expect(parseChaosArgs(['--help'])).to.equal('help');
  });

  it('replays the same draws from the same seed, and forks independent streams', () => {
    const draws = (seed: number) => {
      const rng = new Rng(seed).fork('saga').fork('faults');
      return Array.from({ length: 20 }, () => rng.int(0, 1000));
    };
    expect(draws(7)).to.deep.equal(draws(7));
    expect(draws(7)).to.not.deep.equal(draws(8));
    const base = new Rng(7);
    expect(base.fork('a').next()).to.not.equal(base.fork('b').next());
  });
});
