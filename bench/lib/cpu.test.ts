import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { measureCpu, parseMachineTicks, parseStatTicks, withDescendants } from './cpu';

describe('CPU accounting from /proc', () => {
  it('reads user + system ticks after the command name, even one with spaces and parentheses', () => {
    const stat =
      '4242 (node (mesh) x) S 1 4242 4242 0 -1 4194560 9071 0 0 0 1234 567 0 0 20 0 11 0 8911 1200000000 30000';
    expect(parseStatTicks(stat)).to.equal(1234 + 567);
  });

  it('counts the machine busy as everything but idle and iowait', () => {
    const { busy, total } = parseMachineTicks('cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4\n');
    expect(total).to.equal(1000);
    expect(busy).to.equal(160);
  });

  it('measures this process as the client and leaves out a service with no processes', function () {
    if (process.platform !== 'linux') this.skip();
    const stop = measureCpu([]);
    const until = Date.now() + 60;
    while (Date.now() < until); // burn the client's CPU on purpose
    const use = stop(10);
    expect(use?.msPerOp.client).to.be.greaterThan(0);
    expect(use?.msPerOp).to.not.have.property('service');
    expect(use?.machineCores).to.be.greaterThan(0);
  });

  it('finds the processes a process started, and theirs', async function () {
    if (process.platform !== 'linux') this.skip();
    // sh starts a sleep of its own: this process → sh → sleep.
    const sh = spawn('sh', ['-c', 'sleep 5 & wait'], { stdio: 'ignore' });
    let found: number[] = [];
    try {
      for (let i = 0; i < 50 && found.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        found = withDescendants([process.pid]).filter((p) => p !== process.pid);
      }
      expect(found).to.include(sh.pid);
      expect(found.length).to.be.at.least(2);
    } finally {
      for (const pid of found) process.kill(pid, 'SIGKILL');
    }
  });
});
