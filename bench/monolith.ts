// The monolith baseline: one process, one database holding every participant's tables, and a
// bare node:http server with POST /reserve and POST /pay. Each request runs the same statements
// as the mesh's flow (bench/flows.ts), in ONE local transaction. It authenticates the caller
// with the gateway's own JWT verifier and answers in the gateway's JSON and error shapes; it has
// no waiting room, no gRPC hop, no coordinator and no barrier or XA.
//
//   BENCH_DB=<database> BENCH_POOL=<size> [BENCH_WORKERS=<n>] node dist/bench/monolith.js
//     → "listening <port>"
// With BENCH_WORKERS=2 it runs as two node:cluster workers sharing the port (and the pool size
// between them): the same number of processes as a mesh on both cores (MESH_PROCESSES=2).
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadConfig } from '../lib/config';
import { Database, createPool } from '../lib/db';
import { JwtVerifier } from '../gateway/auth';
import { errorBody, invalidArgument, notFound, toApiError } from '../gateway/errors';
import { monolithPay, monolithReserve } from './flows';
import { serveAsChild } from './lib/child';

/** node:cluster workers serving the port (the mesh's process count, so the ratio is fair). */
const WORKERS = Number(process.env.BENCH_WORKERS ?? '1');

const BODY_LIMIT = 64 * 1024;

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) reject(invalidArgument('body', 'body too large'));
      else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        resolve(parsed as Record<string, unknown>);
      } catch {
        reject(invalidArgument('body', 'the body must be a JSON object'));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
  });
  res.end(data);
}

function text(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw invalidArgument(field, `${field} is required`);
  return v;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const database = process.env.BENCH_DB;
  if (!database) throw new Error('BENCH_DB is required');
  const poolSize = Math.ceil(Number(process.env.BENCH_POOL ?? '24') / WORKERS);
  const holdSeconds = Number(process.env.BENCH_HOLD_SECONDS ?? '7200');
  const db = new Database(createPool({ ...config.db.concert, database, poolSize }), database);
  const verifier = new JwtVerifier(config.jwtSecret);

  const server = createServer((req, res) => {
    const handle = async () => {
      const caller = await verifier.fromHeader(req.headers.authorization);
      if (req.method === 'POST' && req.url === '/reserve') {
        const body = await readJson(req);
        const seatNumber = body.seatNumber;
        if (typeof seatNumber !== 'number') throw invalidArgument('seatNumber', 'required');
        const reservation = await monolithReserve(
          db,
          {
            userId: caller.userId,
            concertId: text(body, 'concertId'),
            date: text(body, 'date'),
            seatNumber,
          },
          holdSeconds,
        );
        return send(res, 201, reservation);
      }
      if (req.method === 'POST' && req.url === '/pay') {
        const body = await readJson(req);
        const paid = await monolithPay(
          db,
          { userId: caller.userId, reservationId: text(body, 'reservationId') },
          holdSeconds,
        );
        return send(res, 201, paid);
      }
      throw notFound();
    };
    handle().catch((err: unknown) => {
      const { error, internal } = toApiError(err);
      if (internal) process.stderr.write(`monolith: ${String(err)}\n`);
      send(res, error.httpStatus, errorBody(error));
    });
  });
  serveAsChild(server, () => db.close());
}

/** The cluster's primary: starts the workers, and stops them all on SIGTERM. */
function runWorkers(n: number): void {
  let stopping = false;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('exit', (_worker, code) => {
    if (!stopping) {
      process.stderr.write(`monolith: a worker exited with ${code}\n`);
      process.exit(1);
    }
  });
  process.once('SIGTERM', () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).flatMap((w) => (w ? [w] : []));
    let left = workers.length;
    for (const w of workers) {
      w.once('exit', () => {
        if (--left === 0) process.exit(0);
      });
      w.process.kill('SIGTERM');
    }
  });
}

if (WORKERS > 1 && cluster.isPrimary) {
  runWorkers(WORKERS);
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`monolith: ${String(err)}\n`);
    process.exit(1);
  });
}
