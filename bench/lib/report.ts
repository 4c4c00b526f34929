// The markdown report of a run: absolute numbers, ratios to the baselines, the targets with
// ✓/✗, and the correctness checks.
import { CPU_GROUPS } from './cpu';
import {
  STEPS,
  fmt,
  fmtTarget,
  payFloors,
  type BenchResults,
  type PhaseResult,
  type SystemName,
  type SystemResult,
} from './results';

const SYSTEM_LABELS: Record<SystemName, string> = {
  saga: 'saga (gateway)',
  xa: 'xa (gateway)',
  monolith: 'monolith (HTTP)',
  'raw-monolith': 'raw: one local transaction',
  'raw-saga': 'raw: saga shape',
  'raw-xa': 'raw: XA shape',
  bare: 'bare node:http',
  'bare-grpc': 'bare gRPC call',
};

const FLOW_SYSTEMS: SystemName[] = ['saga', 'xa', 'monolith', 'raw-monolith', 'raw-saga', 'raw-xa'];

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(head: string[], rows: (string | number)[][]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

function mark(ok: boolean | null): string {
  return ok === null ? 'not measured' : ok ? '✓' : '✗';
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '-';
  return `${(a / b).toFixed(2)}×`;
}

function lat(p: PhaseResult | undefined): (string | number)[] {
  return p ? [fmt(p.latency.p50), fmt(p.latency.p95), fmt(p.latency.p99)] : ['-', '-', '-'];
}

function rawOf(name: SystemName): SystemName | undefined {
  return name === 'saga'
    ? 'raw-saga'
    : name === 'xa'
      ? 'raw-xa'
      : name === 'monolith'
        ? 'raw-monolith'
        : undefined;
}

/** A fraction of a millisecond: one decimal would round a call's 0.46 ms to 0.5. */
function ms2(n: number | undefined): string {
  return n === undefined ? '-' : n.toFixed(2);
}

function cpuCells(p: PhaseResult | undefined): string[] {
  return CPU_GROUPS.map((g) => fmt(p?.cpu?.msPerOp[g]));
}

/** Where each operation's CPU went: the budget the two cores share. */
function cpuSection(s: BenchResults['systems']): string[] {
  const measured = FLOW_SYSTEMS.filter((n) => s[n]?.pay?.cpu || s[n]?.reserve?.cpu);
  if (measured.length === 0) return [];
  return [
    '## CPU per operation at peak (ms, from /proc)',
    '',
    'service: the processes answering the requests (none for the raw shapes, which run in the ' +
      'load generator); database: the MariaDB server; broker: RabbitMQ; client: the load ' +
      'generator. Machine: cores busy during Pay, of all.',
    '',
    ...table(
      [
        'system',
        ...CPU_GROUPS.map((g) => `Reserve ${g}`),
        ...CPU_GROUPS.map((g) => `Pay ${g}`),
        'Pay machine cores',
      ],
      measured.map((n) => {
        const sys = s[n] as SystemResult;
        return [
          SYSTEM_LABELS[n],
          ...cpuCells(sys.reserve),
          ...cpuCells(sys.pay),
          fmt(sys.pay?.cpu?.machineCores),
        ];
      }),
    ),
    '',
  ];
}

/** The bare gRPC call, and the floor it and the raw shapes put under each mode's Pay. */
function floorSection(r: BenchResults): string[] {
  const call = r.systems['bare-grpc']?.grpcCall;
  if (!call) return [];
  const ms = call.cpu?.msPerOp;
  const out = [
    '## One gRPC call, and the floor under a Pay',
    '',
    "The mesh's own client and server (identity signed and checked, duration metric) around a " +
      'handler that does nothing, closed loop with the same users, in processes of their own.',
    '',
    ...table(
      ['calls/s', 'p50', 'p95', 'p99', 'CPU ms/call: server', 'client', 'both'],
      [
        [
          fmt(call.throughput),
          ...lat(call),
          ms2(ms?.service),
          ms2(ms?.client),
          ms2(ms ? (ms.service ?? 0) + (ms.client ?? 0) : undefined),
        ],
      ],
    ),
    '',
  ];
  const floors = payFloors(r.systems, Number(r.machine.cpus));
  if (floors.length === 0) return out;
  out.push(
    "A Pay's gRPC calls (counted by the mesh's servers during Pay at peak) at the bare call's " +
      "CPU, plus its statements at the raw shape's (database + client), everything else free: " +
      `the most Pays/s all ${String(r.machine.cpus)} cores could do, against the rate each ` +
      'throughput target asks for. The bare call is unary; the coordinator sends its branch ' +
      'calls on one stream per participant, which costs less per call (bench/rpcCost.ts), so ' +
      'this floor is an upper bound.',
    '',
    ...table(
      [
        'mode',
        'calls per Pay',
        'calls (ms)',
        'statements (ms)',
        'floor (ms)',
        'ceiling (Pay/s)',
        'target vs monolith (Pay/s)',
        'target vs raw (Pay/s)',
      ],
      floors.map((f) => [
        f.mode,
        fmt(f.calls),
        ms2(f.calls * f.callMs),
        ms2(f.statementsMs),
        ms2(f.floorMs),
        fmt(f.ceiling),
        fmt(f.targetVsMonolith),
        fmt(f.targetVsRaw),
      ]),
    ),
    '',
  );
  return out;
}

export function markdown(r: BenchResults): string {
  const s = r.systems;
  const m = r.machine;
  const set = r.settings;
  const out: string[] = [
    `# Bench run ${r.startedAt}${r.smoke ? ' (smoke: too short to mean anything)' : ''}`,
    '',
    `Machine: ${m.cpuModel} × ${m.cpus} cores, ${m.memoryGb} GB RAM, Node ${m.node}, ${m.mariadb} ` +
      `(innodb_flush_log_at_trx_commit=${m.flushAtCommit}, binlog ${m.binlog}), ${m.os}; ` +
      `load average ${m.loadAtStart} at the start, ${m.loadAtEnd} at the end.`,
    '',
    `Settings: ${String(set.users)} virtual users, ${String(set.phase)} per measured phase after a ` +
      `${String(set.warmup)} warm-up, hot seat ${String(set.hotSeat)} holds, mesh topology ` +
      `"${String(set.topology)}"` +
      (typeof set.processes === 'number'
        ? ` on ${set.processes} process(es), the monolith on as many workers`
        : '') +
      '. Latencies in ms (HdrHistogram), throughput in completed ' +
      'operations per second. Same machine, same run, same client for every line.',
    '',
    '## Targets',
    '',
    ...table(
      ['target', 'measured', 'required', ''],
      r.targets.map((t) => [
        t.text,
        `${t.value === null ? '-' : fmtTarget(t.value)} (${t.detail})`,
        `${t.op === '>=' ? '≥' : '≤'} ${t.threshold}`,
        mark(t.ok),
      ]),
    ),
    '',
    '## Reserve and Pay at peak (closed loop)',
    '',
    ...table(
      [
        'system',
        'Reserve/s',
        'p50',
        'p95',
        'p99',
        'Pay/s',
        'p50',
        'p95',
        'p99',
        'Pay vs monolith',
        'Pay vs own raw ceiling',
      ],
      FLOW_SYSTEMS.filter((n) => s[n]?.pay || s[n]?.reserve).map((n) => {
        const sys = s[n] as SystemResult;
        const raw = rawOf(n);
        return [
          SYSTEM_LABELS[n],
          fmt(sys.reserve?.throughput),
          ...lat(sys.reserve),
          fmt(sys.pay?.throughput),
          ...lat(sys.pay),
          n === 'monolith' ? '1.00×' : ratio(sys.pay?.throughput, s.monolith?.pay?.throughput),
          raw ? ratio(sys.pay?.throughput, s[raw]?.pay?.throughput) : '-',
        ];
      }),
    ),
    '',
  ];

  out.push(...cpuSection(s), ...floorSection(r));

  const fixed: (string | number)[][] = [];
  for (const mode of ['saga', 'xa'] as const) {
    const own = s[mode]?.payHalf;
    const base = s.monolith?.payAt?.[mode];
    if (own)
      fixed.push([
        SYSTEM_LABELS[mode],
        fmt(own.rate),
        fmt(own.throughput),
        ...lat(own),
        fmt(own.latency.max),
        ratio(own.latency.p99, base?.latency.p99),
      ]);
    if (base)
      fixed.push([
        `monolith at ${mode}'s rate`,
        fmt(base.rate),
        fmt(base.throughput),
        ...lat(base),
        fmt(base.latency.max),
        '1.00×',
      ]);
  }
  if (fixed.length) {
    out.push(
      "## Pay at half of each mode's peak (open loop, latency from the scheduled start)",
      '',
      ...table(
        ['system', 'rate/s', 'done/s', 'p50', 'p95', 'p99', 'max', 'p99 vs monolith'],
        fixed,
      ),
      '',
    );
  }

  const journeyModes = (['saga', 'xa'] as const).filter((mode) => s[mode]?.journey);
  if (journeyModes.length) {
    const head = ['step'];
    for (const mode of journeyModes) head.push(`${mode} p50`, 'p95', 'p99');
    const rows: (string | number)[][] = STEPS.map((step) => [
      step,
      ...journeyModes.flatMap((mode) => {
        const l = s[mode]!.journey!.steps[step];
        return [fmt(l.p50), fmt(l.p95), fmt(l.p99)];
      }),
    ]);
    rows.push(['**whole journey**', ...journeyModes.flatMap((mode) => lat(s[mode]!.journey))]);
    out.push(
      '## Journeys through the gateway (token → status until ACTIVE → seat map → hold → pay)',
      '',
      journeyModes
        .map((mode) => `${mode}: ${fmt(s[mode]!.journey!.throughput)} journeys/s`)
        .join(', ') + '.',
      '',
      ...table(head, rows),
      '',
    );
  }

  const hot = (['saga', 'xa'] as const).filter((mode) => s[mode]?.hotSeat);
  if (hot.length) {
    out.push(
      '## Hot seat (simultaneous holds on one seat)',
      '',
      ...table(
        ['mode', 'holds', '201', '409', 'other', 'p50', 'p99', 'last answer (ms)'],
        hot.map((mode) => {
          const h = s[mode]!.hotSeat!;
          const other = Object.entries(h.other).map(([k, n]) => `${n} × ${k}`);
          return [
            mode,
            h.holds,
            h.winners,
            h.conflicts,
            other.length ? other.join(', ') : '0',
            fmt(h.latency.p50),
            fmt(h.latency.p99),
            fmt(h.lastAnswerMs),
          ];
        }),
      ),
      '',
    );
  }

  const polls: [string, PhaseResult][] = [];
  for (const mode of ['saga', 'xa'] as const) {
    const p = s[mode]?.statusPoll;
    if (p) polls.push([`gateway (${mode} mesh)`, p]);
  }
  if (s.bare?.statusPoll) polls.push(['bare node:http', s.bare.statusPoll]);
  if (polls.length) {
    const bare = s.bare?.statusPoll?.throughput;
    out.push(
      '## Waiting-room status poll',
      '',
      ...table(
        ['server', 'req/s', 'p50', 'p95', 'p99', 'vs bare'],
        polls.map(([name, p]) => [name, fmt(p.throughput), ...lat(p), ratio(p.throughput, bare)]),
      ),
      '',
    );
  }

  out.push(
    '## Correctness checks',
    '',
    ...r.checks.map((c) => `- ${c.ok ? '✓' : '✗'} ${c.name}${c.ok ? '' : `: ${c.detail}`}`),
    '',
  );
  return out.join('\n');
}
