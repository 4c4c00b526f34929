// MESH_PROCESSES=2 (what make up runs): the mesh in two processes, the second started by the
// first. A Pay goes through both; the two stop together on SIGTERM, cleanly; the second stops on
// its own when the first disappears; the first stops the mesh if the second exits.
import { expect } from 'chai';
import { withDescendants } from '../../bench/lib/cpu';
import { startMesh, type Mesh } from '../support/mesh';
import { Person, createConcert, eventually, isoDay, auditAndDestroy } from '../support/people';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the mesh on two processes (MESH_PROCESSES=2)', function () {
  this.timeout(120_000);

  /** The mesh's two processes: the first, and the second it started. */
  function processes(mesh: Mesh): { first: number; second: number } {
    const first = mesh.pid('mesh')!;
    const [second, ...more] = withDescendants([first]).filter((p) => p !== first);
    expect(second, 'a second process').to.be.a('number');
    expect(more, 'one second process').to.deep.equal([]);
    return { first, second };
  }

  it('pays through both, and both stop cleanly on SIGTERM', async () => {
    const mesh = await startMesh({ MESH_PROCESSES: '2' });
    let stopped = false;
    try {
      const { second } = processes(mesh);
      const day = isoDay(5);
      const concertId = await createConcert(mesh, {
        title: 'Two processes',
        dates: [day],
        seatsPerDate: 5,
        price: 1000,
      });
      const p = await Person.join(mesh, 'two-processes', 2000);
      const held = await p.reserve(concertId, day, 1);
      expect(held.status, JSON.stringify(held.body)).to.equal(201);
      expect((await p.pay(held.body.reservationId)).status).to.equal(201);
      expect(await p.balance()).to.equal(1000);
      const [code] = await mesh.stop();
      stopped = true;
      expect(code).to.equal(0);
      expect(alive(second), 'the second process stopped with the first').to.equal(false);
    } finally {
      if (!stopped) await auditAndDestroy(mesh);
      else await mesh.destroy();
    }
  });

  it('leaves no second process behind when the first is killed, and stops if the second dies', async () => {
    const mesh = await startMesh({ MESH_PROCESSES: '2' });
    try {
      const { second } = processes(mesh);
      await mesh.kill('mesh');
      expect(
        await eventually(
          async () => alive(second),
          (a) => !a,
        ),
        'the second process stopped on its own',
      ).to.equal(false);
      mesh.restart('mesh');
      await mesh.waitReady();
      const again = processes(mesh);
      process.kill(again.second, 'SIGKILL');
      expect(await mesh.exited('mesh')).to.equal(1);
    } finally {
      await mesh.destroy();
    }
  });
});
