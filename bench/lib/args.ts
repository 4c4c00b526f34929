// Command line of `node dist/bench/run.js`.
import { parseArgs } from 'node:util';
import { SERVICE_NAMES } from '../../lib/config';
import type { TxMode } from '../../lib/txMode';

export const SCENARIOS = ['journey', 'flows', 'hotseat', 'poll', 'baselines'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchArgs {
  /** Length of each measured phase, unless `requests` is given. */
  durationMs: number;
  /** Operations per measured closed-loop phase instead of a duration. */
  requests?: number;
  users: number;
  modes: TxMode[];
  smoke: boolean;
  out: string;
  /** Simultaneous holds on one seat. */
  hotSeat: number;
  warmupMs: number;
  /** How the mesh's services are grouped into processes (see parseTopology). */
  topology: string;
  /**
   * Processes of the mesh with topology "one" (MESH_PROCESSES), and node:cluster workers of the
   * monolith: the same count, so the ratio compares like with like.
   */
  processes: number;
  scenarios: Scenario[];
  /** Extra environment of every mesh process (experiments: LOG_LEVEL=warn, ...). */
  meshEnv: Record<string, string>;
  help: boolean;
}

export const USAGE = `usage: node dist/bench/run.js [options]

  --duration <t>     length of each measured phase: 20s, 1500ms, 2m (default 20s; smoke 300ms)
  --requests <n>     operations per measured phase instead of a duration
  --users <n>        concurrent virtual users (default 24; smoke 4)
  --modes <list>     saga,xa (default both)
  --hot-seat <n>     simultaneous holds on one seat (default 1000; smoke 50)
  --warmup <t>       warm-up before each measured phase (default 3s; smoke 100ms)
  --topology <t>     the mesh's processes: one (default: SERVICES=all, as make up runs it), each
                     (a process per service, as on Kubernetes), or groups: gateway,queue/...
  --processes <n>    with topology one, MESH_PROCESSES (1 or 2, default 2: both cores, as make
                     up); the monolith runs as many node:cluster workers
  --scenarios <list> ${SCENARIOS.join(',')} (default all)
  --mesh-env <k=v>   extra environment for the mesh processes (repeatable), e.g. LOG_LEVEL=warn
  --out <dir>        where results go (default bench/results; smoke bench/results/tmp)
  --smoke            a few seconds of everything; exits non-zero when a correctness check fails
`;

/** "20s", "1500ms", "2m", or a bare number of seconds, in milliseconds. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new Error(`not a duration: "${raw}" (try 20s, 1500ms, 2m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0) throw new Error(`a duration must be positive: "${raw}"`);
  return Math.round(ms);
}

function positiveInt(name: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new Error(`--${name} must be a positive integer`);
  return Number(raw);
}

function list<T extends string>(name: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item))
      throw new Error(`--${name}: unknown "${item}" (known: ${allowed.join(', ')})`);
  }
  if (items.length === 0) throw new Error(`--${name} must name at least one`);
  return [...new Set(items)] as T[];
}

/** Every service of the mesh, as SERVICES names them. */
export const MESH_SERVICES = SERVICE_NAMES;

export interface ProcessGroup {
  name: string;
  services: string;
}

/**
 * The mesh's process groups: undefined for one process hosting everything; "each" for one
 * process per service; or groups separated by "/", each a comma list of services, which
 * together must name every service exactly once.
 */
export function parseTopology(raw: string): ProcessGroup[] | undefined {
  if (raw === 'one') return undefined;
  const groups =
    raw === 'each' ? MESH_SERVICES.map((s) => [s]) : raw.split('/').map((g) => g.split(','));
  const seen = new Set<string>();
  for (const g of groups) {
    for (const s of g) {
      if (!(MESH_SERVICES as readonly string[]).includes(s))
        throw new Error(`--topology: unknown service "${s}" (known: ${MESH_SERVICES.join(', ')})`);
      if (seen.has(s)) throw new Error(`--topology: ${s} is in two groups`);
      seen.add(s);
    }
  }
  const missing = MESH_SERVICES.filter((s) => !seen.has(s));
  if (missing.length) throw new Error(`--topology: no group hosts ${missing.join(', ')}`);
  return groups.map((g, i) => ({ name: `p${i}-${g[0]}`, services: g.join(',') }));
}

function keyValue(raw: string): [string, string] {
  const at = raw.indexOf('=');
  if (at < 1) throw new Error(`--mesh-env takes KEY=VALUE, got "${raw}"`);
  return [raw.slice(0, at), raw.slice(at + 1)];
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      requests: { type: 'string' },
      users: { type: 'string' },
      modes: { type: 'string' },
      'hot-seat': { type: 'string' },
      warmup: { type: 'string' },
      topology: { type: 'string' },
      processes: { type: 'string' },
      scenarios: { type: 'string' },
      'mesh-env': { type: 'string', multiple: true },
      out: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const smoke = values.smoke ?? false;
  const topology = values.topology ?? 'one';
  parseTopology(topology);
  const processes = positiveInt('processes', values.processes ?? '2');
  if (processes > 2) throw new Error('--processes is 1 or 2 (MESH_PROCESSES)');
  return {
    durationMs: parseDuration(values.duration ?? (smoke ? '300ms' : '20s')),
    requests: values.requests === undefined ? undefined : positiveInt('requests', values.requests),
    users: positiveInt('users', values.users ?? (smoke ? '4' : '24')),
    modes: list('modes', values.modes ?? 'saga,xa', ['saga', 'xa'] as const),
    smoke,
    out: values.out ?? (smoke ? 'bench/results/tmp' : 'bench/results'),
    hotSeat: positiveInt('hot-seat', values['hot-seat'] ?? (smoke ? '50' : '1000')),
    warmupMs: parseDuration(values.warmup ?? (smoke ? '100ms' : '3s')),
    topology,
    processes,
    scenarios: list('scenarios', values.scenarios ?? SCENARIOS.join(','), SCENARIOS),
    meshEnv: Object.fromEntries((values['mesh-env'] ?? []).map(keyValue)),
    help: values.help ?? false,
  };
}
