// DATAPLATFORM_URL set to a data platform already listening on this machine: SERVICES=all leaves
// the bundled mock out and delivers there; a process told to host the mock on a taken port (or
// any service on its taken port) stops with one line naming the variable to change.
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { MESH_JS } from '../../ops/mesh-runner';
import { Person, createConcert, eventually, isoDay } from '../support/people';
import { freePort, startMesh, type Mesh } from '../support/mesh';

/** A data platform of its own: answers 200 and keeps every body POSTed to /events. */
async function platform(port: number): Promise<{ server: Server; received: any[] }> {
  const received: any[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/events') received.push(JSON.parse(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, received };
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

describe('DATAPLATFORM_URL pointing at a data platform already listening', function () {
  this.timeout(60_000);
  let mesh: Mesh | undefined;
  let server: Server | undefined;
  after(async () => {
    await mesh?.destroy();
    await close(server);
  });

  it('SERVICES=all starts without the bundled mock and delivers to that platform', async () => {
    const port = await freePort();
    const own = await platform(port);
    server = own.server;
    // auto: what `make up` with a DATAPLATFORM_URL of one's own gets (the runner asks for the mock).
    mesh = await startMesh({
      DATAPLATFORM_URL: `http://127.0.0.1:${port}/events`,
      DATAPLATFORM_MOCK: 'auto',
    });
    const day = isoDay(9);
    const concertId = await createConcert(mesh, {
      title: 'Own platform',
      dates: [day],
      seatsPerDate: 5,
      price: 1000,
    });
    const p = await Person.join(mesh, 'own-platform', 1000);
    const held = await p.reserve(concertId, day, 1);
    expect(held.status, JSON.stringify(held.body)).to.equal(201);
    const paid = await p.pay(held.body.reservationId);
    expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
    const received = await eventually(
      async () => own.received,
      (r) => r.length > 0,
      20_000,
    );
    expect(received.map((b) => [b.type, b.reservationId])).to.deep.equal([
      ['ReservationCompleted', held.body.reservationId],
    ]);
  });
});

describe('a port that is already taken', function () {
  this.timeout(30_000);
  let taken: Server | undefined;
  let port = 0;
  before(async () => {
    port = await freePort();
    taken = (await platform(port)).server;
  });
  after(() => close(taken));

  /** Runs one mesh process; resolves with its exit code and stderr. */
  function mesh(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [MESH_JS],
        { env: { ...process.env, NODE_ENV: 'test', METRICS_PORT: '0', ...env } },
        (err, _out, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }),
      );
    });
  }

  it('by the mock SERVICES names: one line naming DATAPLATFORM_URL, exit 1', async () => {
    const { code, stderr } = await mesh({
      SERVICES: 'dataplatform-mock',
      DATAPLATFORM_URL: `http://127.0.0.1:${port}/events`,
    });
    expect([code, stderr]).to.deep.equal([
      1,
      `DATAPLATFORM_URL: port ${port} on 127.0.0.1 is already in use (the bundled data-platform ` +
        'mock listens there); point DATAPLATFORM_URL elsewhere or stop what listens (or run ' +
        'without the mock: DATAPLATFORM_MOCK=off, or a SERVICES list without dataplatform-mock)\n',
    ]);
  });

  it('by the gateway or a gRPC service: one line naming its port variable, exit 1', async () => {
    for (const [services, variable, what] of [
      ['gateway', 'GATEWAY_PORT', 'the gateway'],
      ['point', 'POINT_GRPC_PORT', 'the point gRPC service'],
    ]) {
      const { code, stderr } = await mesh({ SERVICES: services, [variable]: String(port) });
      expect([code, stderr]).to.deep.equal([
        1,
        `${variable}: port ${port} on 127.0.0.1 is already in use (${what} listens there); ` +
          `set ${variable} to a free port or stop what listens\n`,
      ]);
    }
  });
});
