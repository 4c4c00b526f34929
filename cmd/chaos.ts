// `make chaos`: a booking load while processes of the mesh are killed (-9) and restarted, slowed
// down (branch calls held past their deadline, SIGSTOP, stalled database connections), in each
// TX_MODE, then the auditor over every database (docs/chaos.md).
//   node dist/cmd/chaos.js [--faults 50] [--modes saga,xa] [--seed N] [--kinds kill,delay,...]
//                          [--coordinators 2] [--duration-per-fault ms] [--vus 6]
//                          [--quiet-timeout ms] [--keep] | --drop <run>
// Exit codes: 0 no violation, 1 a violation (or a fault run that could not be carried out),
// 2 usage error.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../lib/config';
import type { TxMode } from '../lib/txMode';
import { REPO_ROOT } from '../lib/paths';
import { existingVhost, removeRun } from '../ops/isolation';
import { assertBuilt } from '../ops/mesh-runner';
import { FAULT_KINDS, type FaultKind } from '../chaos/plan';
import { modeReport, summary } from '../chaos/report';
import { runMode, runningMeshes, type ChaosOptions, type ModeResult } from '../chaos/run';

export const CHAOS_USAGE = `usage: node dist/cmd/chaos.js [options]

Starts the mesh one process per service (in each mode in turn), books seats with a background
load, strikes a random process at random moments — kill -9 and restart, or slowness: branch
calls held past their deadline, SIGSTOP then SIGCONT, its MariaDB connections stalled — then
waits for quiet and audits every database. Exits 1 on any violation.
  --faults <n>                faults per mode (default 50)
  --modes <list>              saga,xa (default both)
  --seed <n>                  replays the same faults and load decisions (default: random)
  --kinds <list>              of kill,delay,pause,stall (default all: half kills, half slowness)
  --coordinators <n>          coordinator instances behind one round-robin relay (default 2)
  --duration-per-fault <ms>   a fault strikes after a random quarter to all of this (default 4000)
  --vus <n>                   concurrent virtual users (default 6)
  --quiet-timeout <ms>        how long to wait for quiet after the load (default 120000)
  --keep                      keep the databases, keys and vhost for inspection
  --drop <run>                remove what a kept run left (its run id, printed with --keep)
`;

export class UsageError extends Error {}

export type ChaosArgs = Omit<ChaosOptions, 'logDir'> & { drop?: string };

export function parseChaosArgs(
  argv: readonly string[],
  randomSeed = () => Math.floor(Math.random() * 2 ** 31),
): ChaosArgs | 'help' {
  const opts: ChaosArgs = {
    faults: 50,
    kinds: [...FAULT_KINDS],
    coordinators: 2,
    modes: ['saga', 'xa'],
    seed: -1,
    durationPerFaultMs: 4000,
    vus: 6,
    quietTimeoutMs: 120_000,
    settleMs: 30_000,
    keep: false,
  };
  const int = (name: string, raw: string | undefined, min: number, max: number): number => {
    if (raw === undefined || !/^\d+$/.test(raw)) throw new UsageError(`${name} needs an integer`);
    const n = Number(raw);
    if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i].startsWith('--') ? argv[i].split(/=(.*)/s) : [argv[i]];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--help':
      case '-h':
        return 'help';
      case '--faults':
        opts.faults = int(name, value(), 0, 10_000);
        break;
      case '--modes': {
        const modes = (value() ?? '').split(',').filter(Boolean);
        if (modes.length === 0 || modes.some((m) => m !== 'saga' && m !== 'xa'))
          throw new UsageError('--modes is a list of saga and xa, e.g. saga,xa');
        opts.modes = [...new Set(modes)] as TxMode[];
        break;
      }
      case '--seed':
        opts.seed = int(name, value(), 0, 2 ** 31 - 1);
        break;
      case '--kinds': {
        const kinds = (value() ?? '').split(',').filter(Boolean);
        if (
          kinds.length === 0 ||
          kinds.some((k) => !(FAULT_KINDS as readonly string[]).includes(k))
        )
          throw new UsageError(`--kinds is a list of ${FAULT_KINDS.join(', ')}`);
        // In the plan's order, once each, whatever order they were given in.
        opts.kinds = FAULT_KINDS.filter((k: FaultKind) => kinds.includes(k));
        break;
      }
      case '--coordinators':
        opts.coordinators = int(name, value(), 1, 4);
        break;
      case '--duration-per-fault':
        opts.durationPerFaultMs = int(name, value(), 100, 600_000);
        break;
      case '--vus':
        opts.vus = int(name, value(), 1, 200);
        break;
      case '--quiet-timeout':
        opts.quietTimeoutMs = int(name, value(), 0, 3_600_000);
        break;
      case '--keep':
        opts.keep = true;
        break;
      case '--drop': {
        const run = value();
        if (!run || !/^[A-Za-z0-9]+$/.test(run)) throw new UsageError('--drop needs a run id');
        opts.drop = run;
        break;
      }
      default:
        throw new UsageError(`unknown argument ${argv[i]}`);
    }
  }
  if (opts.seed < 0) opts.seed = randomSeed();
  return opts;
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseChaosArgs>;
  try {
    parsed = parseChaosArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chaos: ${err.message}\n\n${CHAOS_USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(CHAOS_USAGE);
    return 0;
  }
  if (parsed.drop) {
    const env = {
      ...process.env,
      DB_NAME_PREFIX: `${parsed.drop}_`,
      REDIS_KEY_PREFIX: `${parsed.drop}:`,
    };
    await removeRun(loadConfig(env), existingVhost(parsed.drop));
    process.stdout.write(`removed run ${parsed.drop}\n`);
    return 0;
  }
  assertBuilt();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const opts: ChaosOptions = {
    ...parsed,
    logDir: join(REPO_ROOT, '.run', 'chaos', `${stamp}-seed${parsed.seed}`),
  };
  mkdirSync(opts.logDir, { recursive: true });
  const print = (line: string) => process.stdout.write(`${line}\n`);
  print(
    `chaos: ${opts.faults} faults per mode (${opts.kinds.join(', ')}) in ${opts.modes.join(', ')}, ` +
      `${opts.coordinators} coordinator${opts.coordinators > 1 ? 's' : ''}, seed ${opts.seed} ` +
      `(replay with --seed ${opts.seed})`,
  );
  // Ctrl-C or a SIGTERM: stop the mesh and remove its databases, keys and vhost; twice: now.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.once(signal, () => process.exit(130));
      print(`\nchaos: ${signal}: stopping the mesh and removing what it made (again to quit now)`);
      for (const m of runningMeshes) m.onUnexpectedExit = undefined;
      void Promise.all([...runningMeshes].map((m) => m.destroy().catch(() => undefined))).then(() =>
        process.exit(130),
      );
    });
  const results: ModeResult[] = [];
  for (const mode of opts.modes) {
    const result = await runMode(mode, opts, print);
    results.push(result);
    print(`\n${modeReport(result)}\n`);
  }
  const file = join(opts.logDir, 'report.json');
  writeFileSync(
    file,
    `${JSON.stringify({ options: opts, results }, (_k, v: unknown) => (v instanceof Set ? [...v] : v), 2)}\n`,
  );
  print(summary(results));
  print(`report: ${file}`);
  return results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
