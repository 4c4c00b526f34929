// Server reflection on every gRPC port of the real mesh, through a client of the tests' own:
// each port lists exactly what it serves (health and reflection included), every listed
// service is described by descriptors that link, and the README's grpcurl lines work.
import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { GRPC_SERVICES, loadConfig, type GrpcServiceName } from '../../lib/config';
import { GRPCURL_SHIM, blockCalling, runWithShims } from '../support/readme';
import { ReflectionClient, callUnary, type ReflectionVersion } from '../support/reflection';
import { startMesh, type Mesh } from '../support/mesh';

const HEALTH = 'grpc.health.v1.Health';
const MUX = 'boxoffice.mux.v1.MuxService';
/** A participant also serves phase 2, and takes the coordinator's calls on a stream. */
const PARTICIPANT = ['boxoffice.participant.v1.ParticipantService', MUX];
/** Every port serves health and both reflection versions besides its own services. */
const STANDARD = [
  HEALTH,
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];
/** What each service's port serves (its main.ts registers these). */
const SERVED: Record<GrpcServiceName, string[]> = {
  queue: ['boxoffice.queue.v1.QueueService'],
  concert: ['boxoffice.concert.v1.ConcertService', ...PARTICIPANT],
  reservation: ['boxoffice.reservation.v1.ReservationService', ...PARTICIPANT],
  payment: ['boxoffice.payment.v1.PaymentService', ...PARTICIPANT],
  point: ['boxoffice.point.v1.PointService', ...PARTICIPANT],
  // The coordinator takes the gateway's calls on a stream.
  coordinator: ['boxoffice.coordinator.v1.CoordinatorService', MUX],
  ops: ['boxoffice.ops.v1.OpsService'],
};

describe('gRPC server reflection on every port', function () {
  this.timeout(60_000);
  let mesh: Mesh;
  let address: Record<GrpcServiceName, string>;

  before(async () => {
    mesh = await startMesh();
    const ports = loadConfig(mesh.env).grpcPorts;
    address = Object.fromEntries(
      GRPC_SERVICES.map((svc) => [svc, `127.0.0.1:${ports[svc]}`]),
    ) as Record<GrpcServiceName, string>;
  });
  after(async () => mesh?.destroy());

  async function reflecting<T>(
    svc: GrpcServiceName,
    use: (client: ReflectionClient) => Promise<T>,
    version: ReflectionVersion = 'v1',
  ): Promise<T> {
    const client = new ReflectionClient(address[svc], version);
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }

  for (const svc of GRPC_SERVICES) {
    describe(`the ${svc} port`, () => {
      const expected = [...SERVED[svc], ...STANDARD].sort();

      it('lists exactly the services it serves, over reflection v1 and v1alpha', async () => {
        for (const version of ['v1', 'v1alpha'] as const) {
          const listed = await reflecting(svc, (c) => c.listServices(), version);
          expect([...listed].sort(), version).to.deep.equal(expected);
        }
      });

      it('describes every listed service with descriptors that link on their own', async () => {
        const described = await reflecting(svc, async (c) => {
          const names: string[] = [];
          for (const name of await c.listServices()) {
            const schema = await c.schemaFor(name);
            names.push(schema.lookupService(name).fullName.slice(1));
          }
          return names.sort();
        });
        expect(described).to.deep.equal(expected);
      });

      it('answers SERVING to a health check of the server and of every listed service', async () => {
        const statuses = await reflecting(svc, async (c) => {
          const health = await c.schemaFor(HEALTH);
          const out: Record<string, unknown> = {};
          for (const service of ['', ...(await c.listServices())]) {
            const answer = await callUnary(address[svc], health, `${HEALTH}/Check`, { service });
            out[service] = answer.status;
          }
          return out;
        });
        expect(statuses).to.deep.equal(
          Object.fromEntries(['', ...expected].map((s) => [s, 'SERVING'])),
        );
      });
    });
  }

  it('describes the reservation messages the coordinator uses, without listing their service', async () => {
    const files = await reflecting('coordinator', (c) =>
      c.filesFor('boxoffice.coordinator.v1.CoordinatorService'),
    );
    const coordinatorFile = files[0];
    const reservationFile = files.find((f) => f.package === 'boxoffice.reservation.v1');
    expect(reservationFile, 'the reservation file comes along').to.not.equal(undefined);
    expect(coordinatorFile.dependency).to.include(reservationFile!.name);
    const reservation = await reflecting('coordinator', (c) =>
      c.schemaFor('boxoffice.reservation.v1.Reservation'),
    );
    expect(reservation.lookupType('boxoffice.reservation.v1.Reservation').fieldsArray).to.not.be
      .empty;
  });

  describe("the README's grpcurl lines", () => {
    /** What each README line answers on a fresh mesh, keyed by its service's port and target. */
    const ANSWERS: Record<string, unknown> = {
      'point grpc.health.v1.Health/Check': { status: 'SERVING' },
      'point boxoffice.point.v1.PointService/GetBalance': { userId: 'u1', balance: '0' },
      'coordinator boxoffice.coordinator.v1.CoordinatorService/ListTransactions': {
        transactions: [],
        nextPageToken: '',
        counts: [],
      },
    };

    it('each work against the port they name, through reflection alone', async () => {
      const calls = (await runWithShims(blockCalling('grpcurl'), GRPCURL_SHIM, mesh.env)).map(
        parseGrpcurl,
      );
      const byDefaultPort = new Map(
        Object.entries(loadConfig({}).grpcPorts).map(([svc, port]) => [port, svc]),
      );
      const ran: string[] = [];
      for (const call of calls) {
        const svc = byDefaultPort.get(call.port) as GrpcServiceName | undefined;
        if (!svc) throw new Error(`README calls port ${call.port}, which no service has`);
        const key = `${svc} ${call.target}`;
        ran.push(key);
        if (call.target === 'list') {
          const listed = await reflecting(svc, (c) => c.listServices());
          expect([...listed].sort(), key).to.deep.equal([...SERVED[svc], ...STANDARD].sort());
          continue;
        }
        const [service] = call.target.split('/');
        const schema = await reflecting(svc, (c) => c.schemaFor(service));
        const answer = await callUnary(address[svc], schema, call.target, call.data, call.metadata);
        expect(answer, key).to.deep.equal(ANSWERS[key]);
      }
      expect(ran).to.deep.equal(['queue list', ...Object.keys(ANSWERS)]);
    });
  });
});

interface GrpcurlCall {
  port: number;
  /** `list`, or the method as `package.Service/Method`. */
  target: string;
  data: Record<string, unknown>;
  metadata: Metadata;
}

/** The grpcurl flags the README uses: -plaintext, -H 'name: value', -d JSON; then address, target. */
function parseGrpcurl(args: string[]): GrpcurlCall {
  const metadata = new Metadata();
  let data: Record<string, unknown> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-plaintext') continue;
    if (arg === '-H') {
      const [name, ...value] = args[++i].split(':');
      metadata.set(name.trim(), value.join(':').trim());
    } else if (arg === '-d') {
      data = JSON.parse(args[++i]);
    } else if (arg.startsWith('-')) {
      throw new Error(`grpcurl flag ${arg} is not played by this test`);
    } else {
      positional.push(arg);
    }
  }
  const [address, target] = positional;
  if (!address || !target) throw new Error(`grpcurl ${args.join(' ')}: address and target?`);
  return { port: Number(address.slice(address.lastIndexOf(':') + 1)), target, data, metadata };
}
