// One chaos run in one TX_MODE: a mesh of one process per service, a seeded concert and users,
// a background load, kill -9 faults, then quiet, then the auditor.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../lib/config';
import { REPO_ROOT } from '../lib/paths';
import type { TxMode } from '../lib/txMode';
import { signAccessToken } from '../gateway/auth';
import { audit, type Check } from '../ops/audit';
import { meshEnv } from '../ops/mesh-runner';
import { Gateway, field } from './client';
import { FaultInjector, type Fault, type Incident } from './faults';
import { DEFAULT_LOAD, Load, type LoadStats, type World } from './load';
import { ChaosMesh, reportOptions } from './mesh';
import { Observer, isQuiet, type Quiet } from './observe';
import { planFaults, tallyFaults, type FaultKind } from './plan';
import { Rng } from './random';
import { Topology, faultTargets } from './topology';

export interface ChaosOptions {
  faults: number;
  /** The kinds of fault drawn (plan.ts): half kills, half slowness when both are in. */
  kinds: FaultKind[];
  /** Coordinator instances sharing the log, behind one round-robin relay when several. */
  coordinators: number;
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

/** Short timeouts so that recovery, expiry and retries all happen within a run. */
const CHAOS_ENV: Record<string, string> = {
  TX_TTL_MS: '6000',
  // Delay faults hold a branch past this, at times past the TTL too (plan.ts).
  TX_BRANCH_DEADLINE_MS: '2000',
  TX_RECOVERY_INTERVAL_MS: '200',
  TX_INLINE_FINISH_MS: '1500',
  XA_RESOLVER_INTERVAL_MS: '300',
  XA_RESOLVER_SAFETY_MS: '500',
  XA_HOLD_TIMEOUT_MS: '5000',
  RESERVATION_HOLD_SECONDS: '6',
  RESERVATION_SWEEP_INTERVAL_MS: '500',
  EVENTS_RETRY_DELAYS_MS: '200,500,1000,2000',
  // Recovery tries again soon after a fault ends, so the run goes quiet quickly; and never
  // parks a transaction (STUCK) for a fault that ends, however many attempts it took.
  TX_RETRY_BASE_MS: '200',
  TX_RETRY_MAX_MS: '2000',
  TX_PARK_AFTER_ATTEMPTS: '100000',
  // Migrations run once, before any process starts (migrateFirst), as the deployment's init
  // containers run them: two coordinators migrating one database at start race each other.
  DB_MIGRATE_ON_START: 'false',
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

/** Creates the run's databases and applies every migration, as `node dist/cmd/migrate.js`. */
async function migrateFirst(env: Record<string, string>): Promise<void> {
  await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'dist', 'cmd', 'migrate.js')], {
    env,
    timeout: 120_000,
  });
}

/** The meshes running right now, so an interrupted run can remove them. */
export const runningMeshes = new Set<ChaosMesh>();

/** Starts the mesh of one mode; a start that fails (say, a port taken meanwhile) is retried once. */
async function startMesh(
  mode: TxMode,
  coordinators: number,
  dir: string,
  print: (line: string) => void,
): Promise<{ runner: ChaosMesh; env: Record<string, string>; id: string }> {
  for (let attempt = 1; ; attempt++) {
    const { env, id, vhost } = await meshEnv({
      ...CHAOS_ENV,
      TX_MODE: mode,
      NODE_OPTIONS: reportOptions(dir, process.env.NODE_OPTIONS),
    });
    const topology = await Topology.open(coordinators, env).catch(async (err: unknown) => {
      await vhost.drop().catch(() => undefined);
      throw err;
    });
    Object.assign(env, topology.env);
    const runner = new ChaosMesh(topology, env, id, vhost, (g) => join(dir, `${g}.log`));
    runningMeshes.add(runner);
    print(
      `[${mode}] starting ${topology.groups.length} processes (run ${id}, logs in ${dir}); ` +
        `${topology.relays.map((r) => `${r.name} relay :${r.port}`).join(', ')}`,
    );
    try {
      await migrateFirst(env);
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
    started = await startMesh(mode, opts.coordinators, dir, print);
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
    const plans = planFaults(
      rng.fork('faults'),
      opts.faults,
      opts.kinds,
      faultTargets(opts.coordinators),
      mode,
      {
        durationPerFaultMs: opts.durationPerFaultMs,
        branchDeadlineMs: config.coordinator.branchDeadlineMs,
        ttlMs: config.coordinator.txTtlMs,
      },
    );
    print(
      `[${mode}] ${opts.vus} virtual users booking; ${opts.faults} faults, one every ` +
        `${opts.durationPerFaultMs / 4000}-${opts.durationPerFaultMs / 1000} s (+ its own time ` +
        `and the way back): ${tallyFaults(plans)}`,
    );
    load.start();
    const injector = new FaultInjector(runner, runner.topology, plans, load, observer, print);
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
