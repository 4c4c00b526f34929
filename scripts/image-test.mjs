#!/usr/bin/env node
// The Node side of scripts/image-test.sh: the run isolation of ops/isolation.ts (from dist/,
// built by `make build`), the booking through the gateway, and the CA check of the image.
//
//   node scripts/image-test.mjs run-create
//       makes this run's vhost and picks its ports; prints KEY=VALUE lines: RUN_ID, the
//       variables every container shares, and metrics.<process>=<port>
//   DB_NAME_PREFIX=... REDIS_KEY_PREFIX=... node scripts/image-test.mjs run-remove RUN_ID
//       removes the run's databases, Redis keys and vhost
//   GATEWAY_URL=... DATAPLATFORM_URL=... ADMIN_TOKEN=... USER_TOKEN=... \
//     node scripts/image-test.mjs pay MODE
//       creates a concert, queues, charges, reserves and pays (201 PAID), then waits for the
//       data-platform mock to receive the reservation
//   node scripts/image-test.mjs extra-ca FILE
//       prints a line of each certificate in FILE that Node does not ship (tls.rootCertificates):
//       the machine's own CAs, which must not be found in the image
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
/**
 * The processes of the mesh, one container each, as deploy/k8s/base/processes runs them; the
 * shell script takes the list from the metrics.<process> lines.
 */
const PROCESSES = [
  'queue',
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'dataplatform',
  'dataplatform-mock',
  'gateway',
];

async function runCreate() {
  const { freePort, runId, runVhost } = require('../dist/ops/isolation.js');
  const { GRPC_SERVICES } = require('../dist/lib/config.js');
  const id = runId();
  const vhost = await runVhost(id);
  const lines = [
    `RUN_ID=${id}`,
    `DB_NAME_PREFIX=${id}_`,
    `REDIS_KEY_PREFIX=${id}:`,
    `AMQP_URL=${vhost.url}`,
    `GATEWAY_PORT=${await freePort()}`,
    `DATAPLATFORM_URL=http://127.0.0.1:${await freePort()}/events`,
  ];
  for (const svc of GRPC_SERVICES) lines.push(`${svc.toUpperCase()}_GRPC_PORT=${await freePort()}`);
  for (const p of PROCESSES) lines.push(`metrics.${p}=${await freePort()}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function runRemove(id) {
  const { existingVhost, removeRun } = require('../dist/ops/isolation.js');
  const { loadConfig } = require('../dist/lib/config.js');
  if (!id) throw new Error('run-remove needs the RUN_ID');
  // Development mode: only the names of databases, keys and vhost matter here.
  await removeRun(loadConfig({ ...process.env, NODE_ENV: 'development' }), existingVhost(id));
}

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** One gateway call; fails with the answer unless it has the expected status. */
async function call(method, path, { token, queueToken, body, headers = {} }, expected) {
  const res = await fetch(new URL(`/api/v1${path}`, need('GATEWAY_URL')), {
    method,
    headers: {
      ...headers,
      ...(token && { authorization: `Bearer ${token}` }),
      ...(queueToken && { 'x-queue-token': queueToken }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected)
    throw new Error(`${method} ${path}: ${res.status}, expected ${expected}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function until(what, fn, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function pay(mode) {
  const admin = need('ADMIN_TOKEN');
  const token = need('USER_TOKEN');
  const date = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const { concertId } = await call(
    'POST',
    '/admin/concerts',
    {
      token: admin,
      body: { title: `Image test ${mode}`, dates: [date], seatsPerDate: 10, price: 10000 },
    },
    201,
  );
  const entered = await call('POST', '/queue/tokens', { token, body: {} }, 201);
  const queueToken = entered.token;
  await until(
    'an active queue token',
    async () =>
      (await call('GET', '/queue/status', { token, queueToken }, 200)).status === 'ACTIVE',
  );
  await call('POST', '/points/charge', { token, body: { amount: 10000 } }, 200);
  const held = await call(
    'POST',
    '/reservations',
    { token, queueToken, body: { concertId, date, seatNumber: 1 } },
    201,
  );
  const paid = await call(
    'POST',
    '/payments',
    {
      token,
      queueToken,
      body: { reservationId: held.reservationId },
      headers: { 'idempotency-key': `image-test-${mode}` },
    },
    201,
  );
  if (paid.status !== 'PAID') throw new Error(`payment is ${paid.status}, not PAID`);
  const deliveries = new URL('/deliveries', need('DATAPLATFORM_URL'));
  await until('the delivery to the data-platform mock', async () => {
    const { deliveries: got } = await (await fetch(deliveries)).json();
    return got.some((d) => d.accepted > 0 && d.body.reservationId === held.reservationId);
  });
  process.stdout.write(
    `TX_MODE=${mode}: reservation ${held.reservationId} paid (201 ${paid.status}, payment ` +
      `${paid.paymentId}), delivered to the data-platform mock\n`,
  );
}

/** The base64 body of every PEM certificate in text, whitespace removed. */
export function certificates(text) {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map(
    (m) => m[1].replace(/\s+/g, ''),
  );
}

/**
 * A 64-character line of each certificate in pem that Node does not ship: what a copy of that
 * certificate in PEM form must contain (PEM wraps at 64), for grep -F.
 */
export function extraCaLines(pem, shipped = rootCertificates) {
  const known = new Set(shipped.flatMap(certificates));
  return certificates(pem)
    .filter((c) => !known.has(c))
    .map((c) => c.slice(64, 128));
}

const COMMANDS = {
  'run-create': runCreate,
  'run-remove': runRemove,
  pay,
  'extra-ca': async (file) => {
    const lines = extraCaLines(readFileSync(file, 'utf8'));
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  },
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = process.argv.slice(2);
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`usage: node scripts/image-test.mjs ${Object.keys(COMMANDS).join('|')}\n`);
    process.exit(2);
  }
  run(...args).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`image-test ${command}: ${err.message}\n`);
      process.exit(1);
    },
  );
}
