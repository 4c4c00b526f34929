// A flow is a short declarative list of steps; the engine that runs it knows nothing about
// concerts. Each step calls one participant; a compensable step names its compensation.
import type { CallOptions } from '../../lib/grpc/client';

/** What a step's action works with. */
export interface ActionContext<I> {
  input: I;
  /** The results of earlier steps, typed by the step: `results.of(beginPayment)`. */
  results: StepResults;
  /** Pass to the client call: carries the transaction context and the branch deadline. */
  call: CallOptions;
}

/**
 * What a compensation works with: the flow's input (its ids) and nothing else. It never sees a
 * step result — recovery has none — because the participant's barrier hands the compensation
 * whatever its action did.
 */
export interface CompensationContext<I> {
  input: I;
  call: CallOptions;
}

/** One branch of a flow. `R` is what its action answers, as later steps and the output read it. */
export interface Step<I, R = unknown> {
  /** Also the saga branch id. */
  id: string;
  /** The participant service (and database) the step runs in: one XA branch per participant. */
  participant: string;
  action(ctx: ActionContext<I>): Promise<R>;
  /** Undoes the action; called after it, or instead of it when its answer was never known. */
  compensate?(ctx: CompensationContext<I>): Promise<unknown>;
  /** Steps whose results this one reads: it runs after them. */
  needs?: readonly Step<I, unknown>[];
  /**
   * A step after the pivot (the last step that may refuse): it cannot be compensated, so it is
   * retried — refusals included — until it succeeds, and recovery drives it forward.
   */
  mustSucceed?: boolean;
}

/** The results of a run's finished steps, each typed by the step that produced it. */
export class StepResults {
  private readonly byId = new Map<string, unknown>();

  of<R>(step: Step<never, R>): R {
    if (!this.byId.has(step.id)) throw new Error(`step ${step.id} has no result yet`);
    return this.byId.get(step.id) as R;
  }

  set(step: Step<never, unknown>, value: unknown): void {
    this.byId.set(step.id, value);
  }
}

export interface GuardContext<I> {
  input: I;
  /** Pass to the client call: a deadline, and no transaction (the guard writes nothing). */
  call: CallOptions;
}

/**
 * What runs of a flow contend for (one seat), and how a run that waited learns it lost. Runs of
 * one key take turns in the coordinator (engine/turns.ts); a run that had to wait asks the
 * guard before its transaction. The steps still enforce every rule.
 */
export interface Contention<I> {
  key(input: I): string;
  /**
   * A read-only call: its refusal answers the request as the steps would have, with nothing
   * written; any other answer decides nothing. Runs asking together share one answer, so it
   * must read nothing of the input but what the key names.
   */
  guard(ctx: GuardContext<I>): Promise<unknown>;
}

export interface Flow<I, O> {
  name: string;
  contention?: Contention<I>;
  steps: readonly Step<I, unknown>[];
  /** The client's answer, built from the input and the step results. */
  output(input: I, results: StepResults): O;
}

/** Any flow, as the engine holds them: registered by name, the log stores name and input. */
export type AnyFlow = Flow<unknown, unknown>;
export type AnyStep = Step<unknown, unknown>;

export function defineFlow<I, O>(flow: Flow<I, O>): Flow<I, O> {
  const ids = new Set<string>();
  let pastPivot = false;
  for (const step of flow.steps) {
    if (ids.has(step.id)) throw new Error(`flow ${flow.name}: duplicate step ${step.id}`);
    if (pastPivot && !step.mustSucceed)
      throw new Error(`flow ${flow.name}: step ${step.id} comes after a step that must succeed`);
    pastPivot ||= step.mustSucceed === true;
    for (const need of step.needs ?? []) {
      if (!ids.has(need.id) || !flow.steps.includes(need))
        throw new Error(
          `flow ${flow.name}: step ${step.id} needs ${need.id}, which must come earlier`,
        );
    }
    ids.add(step.id);
  }
  return flow;
}

/** XA execution plan: waves of steps that can run in parallel, and each participant's last step. */
export function xaPlan<I>(flow: Flow<I, unknown>): {
  waves: Step<I, unknown>[][];
  lastOf: Map<string, string>;
} {
  const waves: Step<I, unknown>[][] = [];
  const waveOf = new Map<string, number>();
  const participantWave = new Map<string, number>();
  for (const step of flow.steps) {
    // After its needs, and after the participant's previous step: one branch runs its calls in order.
    let wave = 0;
    for (const need of step.needs ?? []) wave = Math.max(wave, waveOf.get(need.id)! + 1);
    const prev = participantWave.get(step.participant);
    if (prev !== undefined) wave = Math.max(wave, prev + 1);
    waveOf.set(step.id, wave);
    participantWave.set(step.participant, wave);
    (waves[wave] ??= []).push(step);
  }
  const lastOf = new Map<string, string>();
  for (const step of flow.steps) lastOf.set(step.participant, step.id);
  return { waves, lastOf };
}

/**
 * Saga execution plan: waves of steps that run in parallel, each after the steps it needs; a
 * step that must succeed (past the pivot) only after every step that may still be undone, since
 * nothing after the pivot can be. Steps of one wave are separate local transactions, so, unlike
 * XA's branches, two steps of one participant may share a wave.
 */
export function sagaPlan<I>(flow: Flow<I, unknown>): Step<I, unknown>[][] {
  const waves: Step<I, unknown>[][] = [];
  const waveOf = new Map<string, number>();
  let lastUndoable = -1;
  for (const step of flow.steps) {
    let wave = step.mustSucceed ? lastUndoable + 1 : 0;
    for (const need of step.needs ?? []) wave = Math.max(wave, waveOf.get(need.id)! + 1);
    waveOf.set(step.id, wave);
    if (!step.mustSucceed) lastUndoable = Math.max(lastUndoable, wave);
    (waves[wave] ??= []).push(step);
  }
  return waves;
}

/**
 * A flow with a step that cannot be undone — past its pivot, or with no compensation — is
 * recovered forward, never compensated.
 */
export function recoversForward(flow: AnyFlow): boolean {
  return flow.steps.some((s) => s.mustSucceed || !s.compensate);
}

export function participantsOf(flow: AnyFlow): string[] {
  return [...new Set(flow.steps.map((s) => s.participant))];
}
