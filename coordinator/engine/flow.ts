// A flow is a short declarative list of steps; the engine that runs it knows nothing about
// concerts. Each step calls one participant; a compensable step names its compensation.
import type { CallOptions } from '../../lib/grpc/client';

/** The outcomes of earlier steps, by step id. */
export type StepResults = Record<string, unknown>;

export interface StepContext<I> {
  input: I;
  results: StepResults;
  /** Pass to the client call: carries the transaction context and the branch deadline. */
  call: CallOptions;
}

export interface Step<I> {
  /** Also the saga branch id. */
  id: string;
  /** The participant service (and database) the step runs in: one XA branch per participant. */
  participant: string;
  action(ctx: StepContext<I>): Promise<unknown>;
  /** Undoes the action; called with the same input, after or instead of the action. */
  compensate?(ctx: StepContext<I>): Promise<unknown>;
  /** XA: steps whose results this one needs; it runs after them, in parallel with others. */
  needs?: string[];
  /**
   * A step after the pivot (the last step that may refuse): it cannot be compensated, so it is
   * retried — refusals included — until it succeeds, and recovery drives it forward.
   */
  mustSucceed?: boolean;
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
  steps: Step<I>[];
  /** The client's answer, built from the input and the step results. */
  output(input: I, results: StepResults): O;
}

export function defineFlow<I, O>(flow: Flow<I, O>): Flow<I, O> {
  const ids = new Set<string>();
  for (const step of flow.steps) {
    if (ids.has(step.id)) throw new Error(`flow ${flow.name}: duplicate step ${step.id}`);
    for (const need of step.needs ?? []) {
      if (!ids.has(need))
        throw new Error(
          `flow ${flow.name}: step ${step.id} needs ${need}, which must come earlier`,
        );
    }
    ids.add(step.id);
  }
  return flow;
}

/** XA execution plan: waves of steps that can run in parallel, and each participant's last step. */
export function xaPlan<I>(flow: Flow<I, unknown>): {
  waves: Step<I>[][];
  lastOf: Map<string, string>;
} {
  const waves: Step<I>[][] = [];
  const waveOf = new Map<string, number>();
  const participantWave = new Map<string, number>();
  for (const step of flow.steps) {
    // After its needs, and after the participant's previous step: one branch runs its calls in order.
    let wave = 0;
    for (const need of step.needs ?? []) wave = Math.max(wave, waveOf.get(need)! + 1);
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

/** A flow with steps past its pivot is recovered forward, never compensated. */
export function recoversForward(flow: Flow<unknown, unknown>): boolean {
  return flow.steps.some((s) => s.mustSucceed);
}

export function participantsOf(flow: Flow<unknown, unknown>): string[] {
  return [...new Set(flow.steps.map((s) => s.participant))];
}
