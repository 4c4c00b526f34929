// The fault schedule of a chaos run, drawn from its seed alone: which kind of fault strikes
// when, whom, and for how long. Drawn up front, so --seed replays the same faults however the
// load and the mesh happen to behave. Pure: the injector (faults.ts) carries the plan out.
import type { TxMode } from '../lib/txMode';
import type { Rng } from './random';

/**
 * kill   kill -9, down a moment (or past a transaction's TTL), started again;
 * delay  branch calls held past their deadline inside their transaction (a failpoint armed by a
 *        graceful restart, disarmed by another);
 * pause  SIGSTOP, then SIGCONT past a transaction's TTL: the process wakes up with stale work;
 * stall  the participant's MariaDB connections stop carrying bytes, both ways, then go on.
 */
export const FAULT_KINDS = ['kill', 'delay', 'pause', 'stall'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Who each kind of fault may strike (process group names). */
export type Targets = Record<FaultKind, readonly string[]>;

export interface Timing {
  /** A fault strikes after a random pause of a quarter to all of this. */
  durationPerFaultMs: number;
  /** TX_BRANCH_DEADLINE_MS: a delay outlives it. */
  branchDeadlineMs: number;
  /** TX_TTL_MS: a pause outlives it; long kills and some delays and stalls do too. */
  ttlMs: number;
}

export interface FaultPlan {
  n: number;
  kind: FaultKind;
  victim: string;
  /** Quiet time before the fault strikes. */
  waitMs: number;
  /** How long the fault lasts: down, failpoints armed, stopped, or stalled. */
  holdMs: number;
  /** delay only: the FAILPOINTS value the victim runs with meanwhile. */
  failpoint?: string;
}

/** Most kills are back within a moment; one in five stays down past a transaction's TTL. */
const SHORT_OUTAGE_MS: [number, number] = [100, 1500];
const LONG_OUTAGE_MS: [number, number] = [4000, 9000];
const LONG_OUTAGE_SHARE = 0.2;
/** How long a delay fault keeps its failpoints armed, and how many calls each holds up. */
const ARMED_MS: [number, number] = [3000, 8000];
const DELAYED_CALLS: [number, number] = [1, 3];
/** Half of the faults are kills when slowness is drawn too. */
const KILL_SHARE = 0.5;

/** Where a delay fault may hold a participant's call, in each mode. */
export function delayPoints(mode: TxMode, participant: string): string[] {
  const body = `participant.${participant}.after-body`;
  if (mode === 'saga') return [body];
  // A branch held before its XA PREPARE, or a phase-2 call held before it runs.
  return [
    body,
    'participant.xa.before-prepare',
    'participant.xa.before-commit',
    'participant.xa.before-rollback',
  ];
}

/** Fisher–Yates with the run's generator. */
function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function drawKind(rng: Rng, kinds: readonly FaultKind[]): FaultKind {
  const slow = kinds.filter((k) => k !== 'kill');
  if (kinds.includes('kill') && slow.length > 0)
    return rng.chance(KILL_SHARE) ? 'kill' : rng.pick(slow);
  return rng.pick(kinds);
}

/**
 * The first faults are every kind once, in a seeded order, so that even a short run (the
 * smoke) meets each; the rest are drawn: half kills, the other half slowness of any kind.
 */
export function planFaults(
  rng: Rng,
  count: number,
  kinds: readonly FaultKind[],
  targets: Targets,
  mode: TxMode,
  timing: Timing,
): FaultPlan[] {
  const usable = kinds.filter((k) => targets[k].length > 0);
  if (count > 0 && usable.length === 0) throw new Error('no fault kind has a victim');
  const opening = shuffled(rng, usable);
  const d = timing.durationPerFaultMs;
  const plans: FaultPlan[] = [];
  for (let n = 1; n <= count; n++) {
    const waitMs = rng.int(Math.round(d / 4), d);
    const kind = n <= opening.length ? opening[n - 1] : drawKind(rng, usable);
    const victim = rng.pick(targets[kind]);
    const plan: FaultPlan = { n, kind, victim, waitMs, holdMs: 0 };
    switch (kind) {
      case 'kill':
        plan.holdMs = rng.int(
          ...(rng.chance(LONG_OUTAGE_SHARE) ? LONG_OUTAGE_MS : SHORT_OUTAGE_MS),
        );
        break;
      case 'delay': {
        const point = rng.pick(delayPoints(mode, victim));
        const times = rng.int(...DELAYED_CALLS);
        // Past the branch deadline, and at times past the transaction's TTL as well.
        const ms = rng.int(timing.branchDeadlineMs + 500, timing.ttlMs + 2000);
        plan.failpoint = `${point}=${times}*delay(${ms})`;
        plan.holdMs = rng.int(...ARMED_MS);
        break;
      }
      case 'pause':
        plan.holdMs = rng.int(timing.ttlMs + 500, timing.ttlMs + 4000);
        break;
      case 'stall':
        plan.holdMs = rng.int(1000, timing.ttlMs + 3000);
        break;
    }
    plans.push(plan);
  }
  return plans;
}

/** "kill 25 (gateway 4, point 3, …), delay 9 (…)": a run's faults by kind and victim. */
export function tallyFaults(plans: readonly Pick<FaultPlan, 'kind' | 'victim'>[]): string {
  const parts: string[] = [];
  for (const kind of FAULT_KINDS) {
    const mine = plans.filter((p) => p.kind === kind);
    if (mine.length === 0) continue;
    const victims = new Map<string, number>();
    for (const p of mine) victims.set(p.victim, (victims.get(p.victim) ?? 0) + 1);
    const list = [...victims]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([v, k]) => `${v} ${k}`)
      .join(', ');
    parts.push(`${kind} ${mine.length} (${list})`);
  }
  return parts.join('; ') || 'none';
}
