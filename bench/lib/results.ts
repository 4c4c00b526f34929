// What a bench run records (the JSON file), the targets of the issue as ratios computed from it,
// and the correctness checks that fail the run (never the performance targets).
import type { TxMode } from '../../lib/txMode';
import type { CpuUse } from './cpu';
import type { LatencySummary } from './histogram';

export type SystemName =
  TxMode | 'monolith' | 'raw-monolith' | 'raw-saga' | 'raw-xa' | 'bare' | 'bare-grpc';
export const STEPS = ['token', 'wait-active', 'seat-map', 'hold', 'pay'] as const;
export type StepName = (typeof STEPS)[number];

export interface PhaseResult {
  label: string;
  /** closed: `users` loops as fast as answers come; open: `rate` starts a second. */
  kind: 'closed' | 'open';
  users?: number;
  rate?: number;
  ok: number;
  failed: number;
  elapsedS: number;
  /** Completed operations per second. */
  throughput: number;
  latency: LatencySummary;
  /** The phase ended early: its stock (holds, seats, users) ran out. */
  exhausted: boolean;
  /** Failed answers by "<status> <reason>". */
  errors: Record<string, number>;
  /** CPU per operation by process group (Linux only). */
  cpu?: CpuUse;
  /** gRPC calls the system's servers handled per operation (the mesh in one process only). */
  grpcCallsPerOp?: number;
}

export interface JourneyResult extends PhaseResult {
  /** Per step of a journey; wait-active includes every status poll until ACTIVE. */
  steps: Record<StepName, LatencySummary>;
  /** Reserve = the hold request, Pay = the pay request, as seen inside journeys. */
  flows: { reserve: LatencySummary; pay: LatencySummary };
}

export interface HotSeatResult {
  holds: number;
  /** 201 answers: must be exactly one. */
  winners: number;
  /** 409 SEAT_UNAVAILABLE answers: must be all the others. */
  conflicts: number;
  other: Record<string, number>;
  /** Per request, from its own start. */
  latency: LatencySummary;
  /** From the burst's first request to the last answer. */
  lastAnswerMs: number;
}

export interface SystemResult {
  reserve?: PhaseResult;
  pay?: PhaseResult;
  /** The mode's own Pay at half its peak throughput (open loop). */
  payHalf?: PhaseResult;
  /** Monolith: Pay at each mode's half-peak rate, by mode. */
  payAt?: Partial<Record<TxMode, PhaseResult>>;
  journey?: JourneyResult;
  hotSeat?: HotSeatResult;
  statusPoll?: PhaseResult;
  /** bare-grpc: one empty call, closed loop. */
  grpcCall?: PhaseResult;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export interface TargetResult {
  id: string;
  text: string;
  /** The measured ratio (or ms, or count); null when a side was not measured. */
  value: number | null;
  op: '>=' | '<=';
  threshold: number;
  ok: boolean | null;
  detail: string;
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  smoke: boolean;
  machine: Record<string, string | number>;
  settings: Record<string, unknown>;
  systems: Partial<Record<SystemName, SystemResult>>;
  targets: TargetResult[];
  checks: CheckResult[];
}

export const HOT_SEAT_DEADLINE_MS = 2000;
/** Pay throughput each mode must reach, as a share of the monolith's; and of its raw shape's. */
const MONOLITH_SHARE = { saga: 0.25, xa: 0.2 } as const;
/** CPU per Pay of all the mesh's processes, at most this many times the monolith's service CPU. */
const CPU_MULTIPLE = { saga: 5, xa: 6 } as const;
const RAW_SHARE = 0.6;

function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

function target(
  id: string,
  text: string,
  value: number | null,
  op: '>=' | '<=',
  threshold: number,
  detail: string,
): TargetResult {
  const ok = value === null ? null : op === '>=' ? value >= threshold : value <= threshold;
  return { id, text, value, op, threshold, ok, detail };
}

/** The targets, as measured in this run (ok null: not measured). */
export function targets(s: BenchResults['systems']): TargetResult[] {
  const out: TargetResult[] = [];
  const mono = s.monolith?.pay?.throughput;
  for (const mode of ['saga', 'xa'] as const) {
    const pay = s[mode]?.pay?.throughput;
    out.push(
      target(
        `pay-${mode}-vs-monolith`,
        `Pay throughput, ${mode} / monolith`,
        ratio(pay, mono),
        '>=',
        MONOLITH_SHARE[mode],
        `${fmt(pay)} / ${fmt(mono)} flows/s`,
      ),
    );
  }
  const monoCpu = s.monolith?.pay?.cpu?.msPerOp.service;
  for (const mode of ['saga', 'xa'] as const) {
    const cpu = s[mode]?.pay?.cpu?.msPerOp.service;
    out.push(
      target(
        `cpu-${mode}-vs-monolith`,
        `CPU per Pay, ${mode}'s processes / the monolith's`,
        ratio(cpu, monoCpu),
        '<=',
        CPU_MULTIPLE[mode],
        `${fmt(cpu)} / ${fmt(monoCpu)} ms at peak`,
      ),
    );
  }
  for (const mode of ['saga', 'xa'] as const) {
    const pay = s[mode]?.pay?.throughput;
    const raw = s[`raw-${mode}`]?.pay?.throughput;
    out.push(
      target(
        `pay-${mode}-vs-raw`,
        `Pay throughput, ${mode} / its raw database ceiling`,
        ratio(pay, raw),
        '>=',
        RAW_SHARE,
        `${fmt(pay)} / ${fmt(raw)} flows/s`,
      ),
    );
  }
  for (const mode of ['saga', 'xa'] as const) {
    const half = s[mode]?.payHalf;
    const base = s.monolith?.payAt?.[mode];
    out.push(
      target(
        `p99-${mode}-half-peak`,
        `Pay p99 at half of ${mode}'s peak, ${mode} / monolith at the same rate`,
        ratio(half?.latency.p99, base?.latency.p99),
        '<=',
        3,
        `${fmt(half?.latency.p99)} / ${fmt(base?.latency.p99)} ms at ${fmt(half?.rate)} flows/s`,
      ),
    );
  }
  for (const mode of ['saga', 'xa'] as const) {
    const h = s[mode]?.hotSeat;
    const t = target(
      `hot-seat-${mode}`,
      `Hot seat, ${mode}: exactly 1 winner, every answer within ${HOT_SEAT_DEADLINE_MS / 1000} s (ms to the last answer)`,
      h ? h.lastAnswerMs : null,
      '<=',
      HOT_SEAT_DEADLINE_MS,
      h
        ? `${h.holds} holds: ${h.winners} × 201, ${h.conflicts} × 409, last answer after ${fmt(h.lastAnswerMs)} ms`
        : '-',
    );
    if (h && t.ok) t.ok = h.winners === 1 && h.conflicts === h.holds - 1;
    out.push(t);
  }
  const poll = (['saga', 'xa'] as const).map((m) => s[m]?.statusPoll).find(Boolean);
  const bare = s.bare?.statusPoll;
  out.push(
    target(
      'status-poll-vs-bare',
      'Queue status poll throughput, gateway / bare node:http server',
      ratio(poll?.throughput, bare?.throughput),
      '>=',
      0.5,
      `${fmt(poll?.throughput)} / ${fmt(bare?.throughput)} req/s`,
    ),
  );
  return out;
}

/** What a mode's Pay cannot cost less than, from three measurements of the same run. */
export interface PayFloor {
  mode: TxMode;
  /** gRPC calls the mesh handled per Pay at peak. */
  calls: number;
  /** CPU ms of one bare call, both ends. */
  callMs: number;
  /** CPU ms of the mode's statements alone: its raw shape's database + client per Pay. */
  statementsMs: number;
  /** calls × callMs + statementsMs: the machine's CPU per Pay before any other work. */
  floorMs: number;
  /** Pays/s the machine's every core could do at the floor. */
  ceiling: number;
  /** The rate each throughput target asks for (0.25× / 0.2× the monolith, 0.6× the raw shape). */
  targetVsMonolith: number | undefined;
  targetVsRaw: number;
}

/**
 * The floor under each mode's Pay: its gRPC calls at the bare call's cost plus its statements
 * at the raw shape's, everything else (HTTP, JWT, the engine, events) free. A target whose
 * rate is above the ceiling this gives cannot be met on this machine with these calls.
 */
export function payFloors(s: BenchResults['systems'], cores: number): PayFloor[] {
  const call = s['bare-grpc']?.grpcCall?.cpu?.msPerOp;
  if (!call) return [];
  const callMs = (call.service ?? 0) + (call.client ?? 0);
  const out: PayFloor[] = [];
  for (const mode of ['saga', 'xa'] as const) {
    const calls = s[mode]?.pay?.grpcCallsPerOp;
    const raw = s[`raw-${mode}`]?.pay;
    if (calls === undefined || !raw?.cpu) continue;
    const statementsMs = (raw.cpu.msPerOp.database ?? 0) + (raw.cpu.msPerOp.client ?? 0);
    const floorMs = calls * callMs + statementsMs;
    const mono = s.monolith?.pay?.throughput;
    out.push({
      mode,
      calls,
      callMs,
      statementsMs,
      floorMs: Math.round(floorMs * 100) / 100,
      ceiling: Math.round((cores * 1000) / floorMs),
      targetVsMonolith: mono === undefined ? undefined : Math.round(mono * MONOLITH_SHARE[mode]),
      targetVsRaw: Math.round(raw.throughput * RAW_SHARE),
    });
  }
  return out;
}

/** Correctness facts of a run: what --smoke (and a full run) fails on. */
export function checks(s: BenchResults['systems'], audits: CheckResult[]): CheckResult[] {
  const out: CheckResult[] = [...audits];
  for (const [name, sys] of Object.entries(s)) {
    const phases: [string, PhaseResult | undefined][] = [
      ['journeys', sys.journey],
      ['reserve', sys.reserve],
      ['pay', sys.pay],
      ['pay at half peak', sys.payHalf],
      ['status poll', sys.statusPoll],
      ['gRPC call', sys.grpcCall],
      ...Object.entries(sys.payAt ?? {}).map(
        ([mode, p]) => [`pay at ${mode}'s half-peak rate`, p] as [string, PhaseResult],
      ),
    ];
    for (const [what, p] of phases) {
      if (!p) continue;
      out.push({
        name: `${name} ${what}: every operation succeeded`,
        ok: p.failed === 0 && p.ok > 0,
        detail: `${p.ok} ok, ${p.failed} failed${describeErrors(p.errors)}`,
      });
    }
    const h = sys.hotSeat;
    if (h) {
      out.push({
        name: `${name} hot seat: exactly one 201, every other hold 409`,
        ok: h.winners === 1 && h.conflicts === h.holds - 1,
        detail: `${h.winners} × 201, ${h.conflicts} × 409${describeErrors(h.other)}`,
      });
    }
  }
  return out;
}

function describeErrors(errors: Record<string, number>): string {
  const parts = Object.entries(errors).map(([k, n]) => `${n} × ${k}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** A target's ratio: two decimals below 10, so 0.14 does not read as 0.1. */
export function fmtTarget(n: number): string {
  return Math.abs(n) < 10 ? n.toFixed(2) : fmt(n);
}

export function fmt(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return String(Math.round(n));
  return String(Math.round(n * 10) / 10);
}
