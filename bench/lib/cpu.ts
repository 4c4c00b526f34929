// CPU time behind a phase, from /proc (Linux): the system under test's processes, the database
// server, the broker and the load generator. Per completed operation it is steadier than
// throughput on a shared two-core machine, and it says where that machine's budget goes.
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

export const CPU_GROUPS = ['service', 'database', 'broker', 'client'] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

export interface CpuUse {
  /** CPU ms per completed operation, by group (a group absent from this machine is left out). */
  msPerOp: Partial<Record<CpuGroup, number>>;
  /** Cores the whole machine kept busy during the phase. */
  machineCores: number;
}

/** Clock ticks per second of /proc's times (USER_HZ): 100 on every Linux we run on. */
const TICKS_PER_S = 100;
const SERVER_COMMANDS: Record<string, 'database' | 'broker'> = {
  mariadbd: 'database',
  mysqld: 'database',
  'beam.smp': 'broker',
};

/** user + system ticks of a process (all its threads), from the fields after "(comm)". */
export function parseStatTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** busy and total ticks of the machine from /proc/stat's first line. */
export function parseMachineTicks(stat: string): { busy: number; total: number } {
  const t = stat.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - (t[3] ?? 0) - (t[4] ?? 0), total };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The processes and, on Linux, every process they started, and those started in turn. */
export function withDescendants(pids: number[]): number[] {
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      const children = read(`/proc/${pid}/task/${tid}/children`)?.trim();
      for (const child of children ? children.split(/\s+/) : []) visit(Number(child));
    }
  };
  for (const pid of pids) visit(pid);
  return out;
}

/** Local database and broker server processes, by group. */
function serverPids(): Partial<Record<CpuGroup, number[]>> {
  const out: Partial<Record<CpuGroup, number[]>> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const group = SERVER_COMMANDS[read(`/proc/${entry}/comm`)?.trim() ?? ''];
    if (group) (out[group] ??= []).push(Number(entry));
  }
  return out;
}

interface Sample {
  ticks: Partial<Record<CpuGroup, number>>;
  machine: { busy: number; total: number };
}

/** Starts measuring; the returned function ends the measurement for `ops` operations. */
export function measureCpu(servicePids: number[]): (ops: number) => CpuUse | undefined {
  if (process.platform !== 'linux') return () => undefined;
  const pids: Partial<Record<CpuGroup, number[]>> = {
    ...serverPids(),
    service: servicePids,
    client: [process.pid],
  };
  const sample = (): Sample => {
    const ticks: Partial<Record<CpuGroup, number>> = {};
    for (const g of CPU_GROUPS) {
      for (const pid of pids[g] ?? []) {
        const stat = read(`/proc/${pid}/stat`);
        if (stat) ticks[g] = (ticks[g] ?? 0) + parseStatTicks(stat);
      }
    }
    return { ticks, machine: parseMachineTicks(read('/proc/stat') ?? 'cpu 0') };
  };
  const before = sample();
  return (ops) => {
    const after = sample();
    if (ops <= 0) return undefined;
    const msPerOp: Partial<Record<CpuGroup, number>> = {};
    for (const g of CPU_GROUPS) {
      const a = before.ticks[g];
      const b = after.ticks[g];
      if (a === undefined || b === undefined) continue;
      msPerOp[g] = Math.round(((b - a) / TICKS_PER_S / ops) * 1e5) / 100;
    }
    const m = after.machine;
    const share = (m.busy - before.machine.busy) / Math.max(1, m.total - before.machine.total);
    return { msPerOp, machineCores: Math.round(share * cpus().length * 100) / 100 };
  };
}
