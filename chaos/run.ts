// One chaos run in one TX_MODE: a mesh of one process per service, a seeded concert and users,
// a background load, kill -9 faults, then quiet, then the auditor.
import { join } from 'node:path';
import { loadConfig } from '../lib/config';
import type { TxMode } from '../lib/txMode';
import { signAccessToken } from '../gateway/auth';
import { audit, type Check } from '../ops/audit';
import { MeshRunner, meshEnv, type GroupSpec } from '../ops/mesh-runner';
import { Gateway, field } from './client';
import { FaultInjector, VICTIMS, type Fault, type Incident } from './faults';
import { DEFAULT_LOAD, Load, type LoadStats, type World } from './load';
import { Observer, isQuiet, type Quiet } from './observe';
import { Rng } from './random';

export interface ChaosOptions {
  faults: number;
  modes: TxMode[];
  seed: number;
  durationPerFaultMs: number;
  vus: number;
  /** How long to wait for quiet after the load stopped. */
  quietTimeoutMs: number;
  /** How long the auditor is re-run while eventual effects (deliveries) land. */
  settleMs: number;
  /** Leave the databases, keys and vhost in place (to inspect them). */
  keep: boolean;
  /** Where the processes' logs and report.json go. */
  logDir: string;
}

export interface ModeResult {
  mode: TxMode;
  seed: number;
  /** The run's database prefix / key prefix / vhost name. */
  runId: string;
  logDir: string;
  faults: Fault[];
  incidents: Incident[];
  load?: LoadStats;
  quiet?: { reached: boolean; ms: number; state: Quiet };
  /** Audit passes until every check held (1 = at once), within settleMs. */
  auditPasses: number;
  checks: Check[];
  /** Rows about the reservations failed checks name (their transactions, payments, events). */
  evidence: string[];
  /** The run could not be carried out (the mesh did not start, ...). */
  error?: string;
  durationMs: number;
  ok: boolean;
}

/** One process per service, so each can die alone. The mock is started, never killed. */
const GROUPS: GroupSpec[] = [
  ...Object.keys(VICTIMS).map((name) => ({ name, services: name })),
  { name: 'mock', services: 'dataplatform-mock' },
];

/** Short timeouts so that recovery, expiry and retries all happen within a run. */
const CHAOS_ENV: Record<string, string> = {
  COORDINATOR_ID: 'chaos-coordinator',
  TX_TTL_MS: '6000',
  TX_RECOVERY_INTERVAL_MS: '200',
  TX_INLINE_FINISH_MS: '1500',
  XA_RESOLVER_INTERVAL_MS: '300',
  XA_RESOLVER_SAFETY_MS: '500',
  XA_HOLD_TIMEOUT_MS: '5000',
  RESERVATION_HOLD_SECONDS: '6',
  RESERVATION_SWEEP_INTERVAL_MS: '500',
  EVENTS_RETRY_DELAYS_MS: '200,500,1000,2000',
  QUEUE_MAX_ACTIVE: '10000',
  QUEUE_ACTIVE_TTL_SECONDS: '3600',
  // Nine processes share one server (151 connections by default) with whatever else runs.
  DB_POOL_SIZE: '5',
  XA_POOL_SIZE: '10',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

async function createWorld(gw: Gateway, jwtSecret: string, mode: TxMode): Promise<World> {
  const world = {
    dates: [30, 31, 32, 33, 34, 35, 36, 37].map(isoDay),
    seatsPerDate: 500,
    price: 1000,
  };
  const admin = await signAccessToken(jwtSecret, {
    userId: 'chaos-admin',
    admin: true,
    ttlSeconds: 86_400,
  });
  const res = await gw.call('POST', '/api/v1/admin/concerts', {
    token: admin,
    body: { title: `Chaos ${mode}`, ...world },
  });
  if (res.status !== 201)
    throw new Error(`creating the concert answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { concertId: field(res, 'concertId'), ...world };
}

/** The reservation ids that offending rows name, in order, once each. */
function reservationsIn(checks: Check[]): string[] {
  const ids = new Set<string>();
  for (const c of checks)
    for (const d of c.details) {
      const row = JSON.parse(d) as Record<string, unknown>;
      const id = row.reservation_id ?? row.reservationId ?? row.held_by;
      if (typeof id === 'string') ids.add(id);
    }
  return [...ids];
}

/** The meshes running right now, so an interrupted run can remove them. */
export const runningMeshes = new Set<MeshRunner>();

/** Starts the mesh of one mode; a start that fails (say, a port taken meanwhile) is retried once. */
async function startMesh(
  mode: TxMode,
  dir: string,
  print: (line: string) => void,
): Promise<{ runner: MeshRunner; env: Record<string, string>; id: string }> {
  for (let attempt = 1; ; attempt++) {
    const { env, id, vhost } = await meshEnv({ ...CHAOS_ENV, TX_MODE: mode });
    const runner = new MeshRunner(env, id, dir, vhost, GROUPS, (g) => join(dir, `${g}.log`));
    runningMeshes.add(runner);
    print(`[${mode}] starting ${GROUPS.length} processes (run ${id}, logs in ${dir})`);
    try {
      await runner.start(90_000);
      for (const g of runner.names) await runner.waitStarted(g, 60_000);
      return { runner, env, id };
    } catch (err) {
      await runner.destroy().catch(() => undefined);
      runningMeshes.delete(runner);
      if (attempt === 2) throw err;
      print(`[${mode}] the mesh did not start (${(err as Error).message}); once more`);
    }
  }
}

export async function runMode(
  mode: TxMode,
  opts: ChaosOptions,
  print: (line: string) => void,
): Promise<ModeResult> {
  const began = Date.now();
  const rng = new Rng(opts.seed).fork(mode);
  const dir = join(opts.logDir, mode);
  const result: ModeResult = {
    mode,
    seed: opts.seed,
    runId: '',
    logDir: dir,
    faults: [],
    incidents: [],
    auditPasses: 0,
    checks: [],
    evidence: [],
    durationMs: 0,
    ok: false,
  };
  let started: Awaited<ReturnType<typeof startMesh>>;
  try {
    started = await startMesh(mode, dir, print);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    result.durationMs = Date.now() - began;
    return result;
  }
  const { runner, env, id } = started;
  result.runId = id;
  const config = loadConfig(env);
  const observer = new Observer(config);
  try {
    const gw = new Gateway(runner.url, 20_000);
    const world = await createWorld(gw, config.jwtSecret, mode);
    const load = await Load.prepare(
      gw,
      world,
      rng.fork('load'),
      { ...DEFAULT_LOAD, vus: opts.vus },
      config.jwtSecret,
      `chaos-${mode}`,
    );
    result.load = load.stats;
    print(
      `[${mode}] ${opts.vus} virtual users booking; ${opts.faults} faults, one every ` +
        `${opts.durationPerFaultMs / 4000}-${opts.durationPerFaultMs / 1000} s (+ down time and restart)`,
    );
    load.start();
    const injector = new FaultInjector(
      runner,
      rng.fork('faults'),
      load,
      observer,
      { faults: opts.faults, durationPerFaultMs: opts.durationPerFaultMs },
      print,
    );
    result.faults = injector.faults;
    result.incidents = injector.incidents;
    try {
      await injector.run();
    } finally {
      print(`[${mode}] faults done; stopping the load (journeys finish their retries)`);
      await load.stop();
    }
    const quietFrom = Date.now();
    let state = await observer.quiet();
    while (!isQuiet(state) && Date.now() - quietFrom < opts.quietTimeoutMs) {
      await sleep(500);
      state = await observer.quiet();
    }
    result.quiet = { reached: isQuiet(state), ms: Date.now() - quietFrom, state };
    print(
      `[${mode}] ${result.quiet.reached ? 'quiet' : 'NOT quiet'} after ` +
        `${(result.quiet.ms / 1000).toFixed(1)} s: ${JSON.stringify(state)}`,
    );
    const auditOpts = { events: true, mockUrl: env.DATAPLATFORM_URL, amqpUrl: env.AMQP_URL };
    const settleFrom = Date.now();
    for (;;) {
      result.auditPasses++;
      result.checks = [...(await audit(config, auditOpts)), await observer.clientView(load.record)];
      if (result.checks.every((c) => c.ok) || Date.now() - settleFrom > opts.settleMs) break;
      await sleep(1000);
    }
    const named = reservationsIn(result.checks.filter((c) => !c.ok));
    if (named.length) result.evidence = await observer.evidence(named.slice(0, 5));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  } finally {
    runner.onUnexpectedExit = undefined;
    await observer.close().catch(() => undefined);
    // A violation keeps the databases for a closer look (node dist/cmd/chaos.js --drop <run>).
    if (opts.keep || result.checks.some((c) => !c.ok)) {
      await runner.stop();
      print(
        `[${mode}] kept run ${id}: DB_NAME_PREFIX=${env.DB_NAME_PREFIX} AMQP_URL=${env.AMQP_URL} ` +
          `node dist/cmd/audit.js; remove it with node dist/cmd/chaos.js --drop ${id}`,
      );
    } else await runner.destroy().catch((err: Error) => print(`[${mode}] cleanup: ${err.message}`));
    runningMeshes.delete(runner);
  }
  result.durationMs = Date.now() - began;
  result.ok =
    !result.error &&
    result.incidents.length === 0 &&
    result.faults.every((f) => !f.error) &&
    result.checks.length > 0 &&
    result.checks.every((c) => c.ok);
  return result;
}
