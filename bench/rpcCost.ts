// What one request/answer exchange costs in CPU over grpc-js, Node's bare http2 and http/1.1
// keep-alive, client and server in this one process, so that the bench's bare gRPC call
// (bench/bareGrpc.ts) can be read against the transport underneath it (docs/performance.md).
//
//   node dist/bench/rpcCost.js   → one line per transport: calls/s and CPU µs per call
import { once } from 'node:events';
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  Channel,
  Client,
  Metadata,
  Server,
  ServerCredentials,
  credentials,
  type ServerDuplexStream,
  type UntypedHandleCall,
} from '@grpc/grpc-js';

const CALLERS = 24;
const WARMUP_MS = 2000;
const MEASURE_MS = 5000;
const REQUEST = Buffer.alloc(80, 2);
const ANSWER = Buffer.alloc(60, 1);
const NO_CHANNELZ = { 'grpc.enable_channelz': 0 };

type Exchange = () => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CALLERS loops of `exchange`; CPU of this process per completed exchange after a warm-up. */
async function measure(name: string, exchange: Exchange): Promise<void> {
  let done = 0;
  let stop = false;
  const loops = Array.from({ length: CALLERS }, async () => {
    while (!stop) {
      await exchange();
      done++;
    }
  });
  await sleep(WARMUP_MS);
  const [n0, t0, cpu0] = [done, performance.now(), process.cpuUsage()];
  await sleep(MEASURE_MS);
  const cpu = process.cpuUsage(cpu0);
  const [n, s] = [done - n0, (performance.now() - t0) / 1000];
  stop = true;
  await Promise.all(loops);
  const perCall = (cpu.user + cpu.system) / n;
  process.stdout.write(
    `${name.padEnd(8)} ${Math.round(n / s)} calls/s, ${perCall.toFixed(0)} µs CPU per call\n`,
  );
}

const bytes = (b: Buffer) => b;

/** A method of raw bytes at `path`, unary or bidirectional. */
function rawMethod(path: string, streaming: boolean) {
  return {
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: bytes,
    requestDeserialize: bytes,
    responseSerialize: bytes,
    responseDeserialize: bytes,
  };
}

/** A grpc-js server of one method on a free port; answers its target. */
async function serve(
  server: Server,
  name: string,
  method: ReturnType<typeof rawMethod>,
  handler: UntypedHandleCall,
): Promise<string> {
  server.addService({ [name]: method }, { [name]: handler });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return `127.0.0.1:${port}`;
}

async function grpcJs(): Promise<void> {
  const method = rawMethod('/bench.Rpc/Call', false);
  const server = new Server(NO_CHANNELZ);
  const target = await serve(
    server,
    'call',
    method,
    (_: unknown, answer: (err: null, res: Buffer) => void) => answer(null, ANSWER),
  );
  const channel = new Channel(target, credentials.createInsecure(), NO_CHANNELZ);
  const client = new Client(target, credentials.createInsecure(), { channelOverride: channel });
  await measure(
    'grpc-js',
    () =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          method.path,
          bytes,
          bytes,
          REQUEST,
          new Metadata(),
          { deadline: Date.now() + 5000 },
          (err) => (err ? reject(err) : resolve()),
        ),
      ),
  );
  client.close();
  server.forceShutdown();
}

/**
 * The same exchange as grpcJs, but every call a message on one long-lived bidirectional stream,
 * matched to its answer by an id in the first 4 bytes: what a branch call costs over the mux.
 */
async function grpcStream(): Promise<void> {
  const method = rawMethod('/bench.Rpc/Exchange', true);
  const server = new Server(NO_CHANNELZ);
  const target = await serve(
    server,
    'exchange',
    method,
    (stream: ServerDuplexStream<Buffer, Buffer>) => {
      stream.on('data', (req: Buffer) => {
        const answer = Buffer.allocUnsafe(4 + ANSWER.length);
        req.copy(answer, 0, 0, 4);
        ANSWER.copy(answer, 4);
        stream.write(answer);
      });
      stream.on('end', () => stream.end());
    },
  );
  const client = new Client(target, credentials.createInsecure(), NO_CHANNELZ);
  const stream = client.makeBidiStreamRequest(method.path, bytes, bytes, new Metadata());
  const pending = new Map<number, () => void>();
  stream.on('data', (answer: Buffer) => {
    const id = answer.readUInt32BE(0);
    pending.get(id)?.();
    pending.delete(id);
  });
  let next = 0;
  await measure(
    'stream',
    () =>
      new Promise((resolve) => {
        const id = next++ >>> 0;
        pending.set(id, resolve);
        const req = Buffer.allocUnsafe(4 + REQUEST.length);
        req.writeUInt32BE(id, 0);
        REQUEST.copy(req, 4);
        stream.write(req);
      }),
  );
  stream.end();
  client.close();
  server.forceShutdown();
}

async function http2(): Promise<void> {
  const server = createHttp2Server();
  server.on('stream', (stream) => {
    stream.resume();
    stream.on('end', () => {
      stream.respond({ ':status': 200 });
      stream.end(ANSWER);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await measure(
    'http2',
    () =>
      new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/call' });
        req.on('error', reject);
        req.resume();
        req.on('end', resolve);
        req.end(REQUEST);
      }),
  );
  session.close();
  server.close();
}

async function http1(): Promise<void> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(ANSWER));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const agent = new Agent({ keepAlive: true, maxSockets: CALLERS });
  await measure(
    'http/1.1',
    () =>
      new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/call', agent });
        req.on('error', reject);
        req.on('response', (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.end(REQUEST);
      }),
  );
  agent.destroy();
  server.close();
  server.closeAllConnections();
}

async function main(): Promise<void> {
  await grpcJs();
  await grpcStream();
  await http2();
  await http1();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
