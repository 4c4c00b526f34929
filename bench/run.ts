// `make bench`: drives the mesh in each TX_MODE through its gateway, and the baselines (the
// monolith behind HTTP, the raw database ceilings, a bare HTTP server) in the same run on the
// same machine, then writes bench/results/<time>.{json,md,svg} and latest.*. See
// docs/performance.md. Exits non-zero when a correctness check fails, never on performance.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../lib/config';
import { serverConnection } from '../lib/db';
import { REPO_ROOT } from '../lib/paths';
import { BareGrpcTarget, MonolithTarget, startBare } from './baselines';
import type { TxMode } from '../lib/txMode';
import { USAGE, parseBenchArgs, type BenchArgs } from './lib/args';
import { chart } from './lib/chart';
import { Progress } from './lib/progress';
import { markdown } from './lib/report';
import {
  checks,
  fmtTarget,
  targets,
  type BenchResults,
  type CheckResult,
  type SystemResult,
} from './lib/results';
import { CONNECTION_BUDGET, MeshTarget, meshSettings } from './mesh';
import { RawDatabases, rawMonolith } from './raw';
import {
  flowPhases,
  gatewayPoll,
  grpcCallPhase,
  hotSeat,
  journeyPhase,
  pollPhase,
  type PhaseOptions,
} from './scenarios';

/** Everything started and not yet cleaned up, newest first (Ctrl-C cleans these). */
interface Closable {
  close(): Promise<void>;
}

const open = new Set<Closable>();
const closing = new Map<Closable, Promise<void>>();

/**
 * Closes a target once: Ctrl-C's clean-up and the phase it interrupts both close it, and a
 * second clean-up running beside the first (each dropping the same databases and vhost) made
 * one fail and the process exit before the other had finished, leaving databases behind.
 */
function close(t: Closable): Promise<void> {
  let done = closing.get(t);
  if (!done) {
    done = t.close();
    closing.set(t, done);
  }
  return done;
}

async function using<T extends Closable, R>(
  start: Promise<T>,
  fn: (t: T) => Promise<R>,
): Promise<R> {
  const t = await start;
  open.add(t);
  try {
    return await fn(t);
  } finally {
    await close(t);
    open.delete(t);
  }
}

async function machine(): Promise<Record<string, string | number>> {
  const db = loadConfig().db.concert;
  const conn = await serverConnection(db);
  try {
    const [rows] = await conn.query(
      'SELECT VERSION() AS v, @@innodb_flush_log_at_trx_commit AS f, @@log_bin AS b, @@max_connections AS m, @@innodb_buffer_pool_size AS p',
    );
    const [r] = rows as { v: string; f: number; b: number; m: number; p: number }[];
    return {
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      node: process.version,
      mariadb: `MariaDB ${r.v}`,
      flushAtCommit: r.f,
      binlog: r.b ? 'on' : 'off',
      maxConnections: r.m,
      bufferPoolMb: Math.round(r.p / 2 ** 20),
      loadAtStart: loadavg()
        .map((l) => l.toFixed(2))
        .join(' '),
    };
  } finally {
    await conn.end();
  }
}

function stamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function run(args: BenchArgs, progress: Progress): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const tag = `bn${Date.now().toString(36)}`;
  const info = await machine();
  if (!args.smoke && loadavg()[0] > 1) {
    progress.note(
      `[bench] warning: load average ${loadavg()[0].toFixed(2)} before the start: something else is running, numbers will be low`,
    );
  }
  if (Number(info.maxConnections) < CONNECTION_BUDGET + 10) {
    progress.note(
      `[bench] warning: max_connections=${info.maxConnections}; the mesh may use up to ${CONNECTION_BUDGET}`,
    );
  }
  const o: PhaseOptions = {
    users: args.users,
    durationMs: args.durationMs,
    requests: args.requests,
    warmupMs: args.warmupMs,
    progress,
    smoke: args.smoke,
  };
  const want = (s: BenchArgs['scenarios'][number]) => args.scenarios.includes(s);
  const systems: BenchResults['systems'] = {};
  const audits: CheckResult[] = [];
  const halfRates: Partial<Record<TxMode, number>> = {};

  const meshOptions = {
    users: args.users,
    topology: args.topology,
    processes: args.processes,
    env: args.meshEnv,
    settle: !args.smoke,
  };
  // A smoke run measures nothing: its meshes start together, which saves seconds.
  const early = args.smoke
    ? new Map(
        args.modes.map((m) => {
          const start = MeshTarget.start(m, meshOptions);
          // Known to the clean-up at once, even if an earlier mode fails first.
          start.then((t) => open.add(t)).catch(() => undefined);
          return [m, start];
        }),
      )
    : undefined;
  for (const mode of args.modes) {
    progress.note(
      `[bench] ${mode}: starting the mesh (TX_MODE=${mode}, topology ${args.topology}, ${args.processes} process(es))`,
    );
    const starting = early?.get(mode) ?? MeshTarget.start(mode, meshOptions);
    await using(starting, async (mesh) => {
      const sys: SystemResult = (systems[mode] = {});
      if (want('journey')) sys.journey = await journeyPhase(mesh, o);
      if (want('flows')) {
        Object.assign(sys, await flowPhases(mesh, o, { ownHalf: true }));
        if (sys.payHalf?.rate) halfRates[mode] = sys.payHalf.rate;
      }
      if (want('hotseat')) {
        await mesh.settle();
        sys.hotSeat = await hotSeat(mesh, args.hotSeat, progress);
      }
      if (want('poll') && mode === args.modes[0]) {
        await mesh.settle();
        sys.statusPoll = await gatewayPoll(mesh, o);
      }
      progress.note(`[bench] ${mode}: auditing the databases`);
      audits.push(...(await mesh.audit()));
    });
  }

  if (want('baselines')) {
    if (want('flows')) {
      progress.note(
        `[bench] monolith: ${args.processes} worker(s), one database, one local transaction per flow`,
      );
      systems.monolith = await using(MonolithTarget.start(tag, args.users, args.processes), (t) =>
        flowPhases(t, o, { ownHalf: false, at: halfRates }),
      );
      progress.note('[bench] raw database ceilings (no HTTP, no gRPC, no coordinator)');
      systems['raw-monolith'] = await using(rawMonolith(tag, args.users), (t) =>
        flowPhases(t, o, { ownHalf: false }),
      );
      await using(RawDatabases.create(tag, args.users), async (shared) => {
        for (const mode of args.modes) {
          systems[`raw-${mode}`] = await using(Promise.resolve(shared.target(mode)), (t) =>
            flowPhases(t, o, { ownHalf: false }),
          );
        }
      });
      progress.note('[bench] one bare gRPC call (the cost of every hop before any work)');
      systems['bare-grpc'] = {
        grpcCall: await using(BareGrpcTarget.start(), (t) => grpcCallPhase(t, o)),
      };
    }
    if (want('poll')) {
      const bare = await startBare();
      try {
        systems.bare = {
          statusPoll: await pollPhase(
            'bare node:http status',
            bare.url,
            '/api/v1/queue/status',
            () => ({}),
            o,
          ),
        };
      } finally {
        await bare.stop();
      }
    }
  }

  info.loadAtEnd = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    smoke: args.smoke,
    machine: info,
    settings: {
      users: args.users,
      phase:
        args.requests !== undefined ? `${args.requests} operations` : `${args.durationMs / 1000} s`,
      warmup: `${args.warmupMs / 1000} s`,
      hotSeat: args.hotSeat,
      topology: args.topology,
      processes: args.processes,
      modes: args.modes,
      scenarios: args.scenarios,
      meshEnv: Object.fromEntries(
        args.modes.map((m) => [
          m,
          { ...meshSettings(m, args.users, args.processes), ...args.meshEnv },
        ]),
      ),
    },
    systems,
    targets: targets(systems),
    checks: checks(systems, audits),
  };
}

function write(results: BenchResults, outDir: string): string[] {
  const dir = resolve(REPO_ROOT, outDir);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, stamp(results.startedAt));
  const files: [string, string][] = [
    [`${base}.json`, `${JSON.stringify(results, null, 2)}\n`],
    [`${base}.md`, markdown(results)],
    [`${base}.svg`, chart(results)],
  ];
  for (const [file, text] of files) {
    writeFileSync(file, text);
    copyFileSync(file, join(dir, `latest${file.slice(base.length)}`));
  }
  return files.map(([f]) => f);
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const progress = new Progress();
  let interrupted = false;
  const stop = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note(`[bench] ${signal}: cleaning up (again to quit at once)`);
    void Promise.allSettled([...open].map(close)).then(() => process.exit(130));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const results = await run(args, progress);
  const files = write(results, args.out);
  const lines = [
    '',
    'targets (reported, never failing the run):',
    ...results.targets.map(
      (t) =>
        `  ${t.ok === null ? '-' : t.ok ? '✓' : '✗'} ${t.text}: ${t.value === null ? '-' : fmtTarget(t.value)} (${t.op} ${t.threshold}; ${t.detail})`,
    ),
    'correctness checks:',
    ...results.checks.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.name}${c.ok ? '' : `: ${c.detail}`}`),
    `results: ${files.join(', ')}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  return results.checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if ((err as { errno?: number } | null)?.errno === 1040)
      process.stderr.write(
        'MariaDB refused a connection: max_connections is reached. Is another workload using the ' +
          'server? Otherwise raise it (SET GLOBAL max_connections = 300) or use fewer --users.\n',
      );
    await Promise.allSettled([...open].map(close));
    process.exit(1);
  },
);
