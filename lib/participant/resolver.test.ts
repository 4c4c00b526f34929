import { expect } from 'chai';
import { createLogger } from '../log';
import { InDoubtResolver, type Decision, type PreparedBranches } from './resolver';

const log = createLogger('silent');

/** Prepared branches in memory, recording what the resolver did to them. */
class Branches implements PreparedBranches {
  readonly done: string[] = [];
  constructor(public prepared: string[]) {}
  async inDoubt() {
    return this.prepared.map((gid) => ({ gid }));
  }
  async commit(gid: string) {
    this.done.push(`commit ${gid}`);
    this.prepared = this.prepared.filter((g) => g !== gid);
  }
  async rollback(gid: string) {
    this.done.push(`rollback ${gid}`);
    this.prepared = this.prepared.filter((g) => g !== gid);
  }
}

describe('the in-doubt resolver', () => {
  it('asks about a branch only once it has been prepared for the safety interval', async () => {
    let now = 1000;
    const asked: string[] = [];
    const branches = new Branches(['g1', 'g2']);
    const decisions: Record<string, Decision> = { g1: 'commit', g2: 'rollback' };
    const resolver = new InDoubtResolver(
      branches,
      async (gid) => {
        asked.push(gid);
        return decisions[gid];
      },
      { intervalMs: 10, safetyMs: 500 },
      log,
      () => now,
    );
    await resolver.pass();
    expect(asked).to.deep.equal([]);
    now += 499;
    await resolver.pass();
    expect(asked).to.deep.equal([]);
    now += 1;
    await resolver.pass();
    expect(asked).to.deep.equal(['g1', 'g2']);
    expect(branches.done).to.deep.equal(['commit g1', 'rollback g2']);
  });

  it('leaves a branch the coordinator cannot decide yet, and asks again next time', async () => {
    let now = 0;
    let decision: Decision = 'wait';
    const branches = new Branches(['g1']);
    const resolver = new InDoubtResolver(
      branches,
      async () => decision,
      { intervalMs: 10, safetyMs: 0 },
      log,
      () => now,
    );
    await resolver.pass();
    expect(branches.done).to.deep.equal([]);
    decision = 'rollback';
    now += 1;
    await resolver.pass();
    expect(branches.done).to.deep.equal(['rollback g1']);
  });

  it('forgets a branch that phase 2 finished meanwhile: a new one with its gid waits again', async () => {
    let now = 0;
    const asked: string[] = [];
    const branches = new Branches(['g1']);
    const resolver = new InDoubtResolver(
      branches,
      async (gid) => {
        asked.push(gid);
        return 'commit';
      },
      { intervalMs: 10, safetyMs: 100 },
      log,
      () => now,
    );
    await resolver.pass();
    branches.prepared = [];
    now += 200;
    await resolver.pass();
    branches.prepared = ['g1'];
    await resolver.pass();
    expect(asked).to.deep.equal([]);
  });

  it('logs a failed pass and goes on with the next', async () => {
    let fail = true;
    const branches = new Branches(['g1']);
    const resolver = new InDoubtResolver(
      branches,
      async () => {
        if (fail) throw new Error('coordinator unavailable');
        return 'commit';
      },
      { intervalMs: 10, safetyMs: 0 },
      log,
    );
    await resolver.pass();
    expect(branches.done).to.deep.equal([]);
    fail = false;
    await resolver.pass();
    expect(branches.done).to.deep.equal(['commit g1']);
  });

  it('stops only after the pass in flight has finished, and starts none after', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let passes = 0;
    const branches = new Branches(['g1']);
    const resolver = new InDoubtResolver(
      branches,
      async () => {
        passes += 1;
        await held;
        return 'rollback';
      },
      { intervalMs: 5, safetyMs: 0 },
      log,
    );
    resolver.start();
    while (passes === 0) await new Promise((r) => setTimeout(r, 5));
    let stopped = false;
    const stopping = resolver.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 30));
    // The pass is still holding: stop has not returned, and no second pass began.
    expect(stopped).to.equal(false);
    expect(passes).to.equal(1);
    release();
    await stopping;
    expect(branches.done).to.deep.equal(['rollback g1']);
    branches.prepared = ['g2'];
    await new Promise((r) => setTimeout(r, 30));
    expect(passes).to.equal(1);
  });
});
