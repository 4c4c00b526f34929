// The measured scenarios. Set-up (users, seats, holds to pay) is always done before a phase,
// sized from a warm-up of the same operation, so a phase measures only its own requests.
import type { TxMode } from '../lib/txMode';
import type { BareGrpcTarget } from './baselines';
import type { Hold, Seat, User } from './fixtures';
import { measureCpu } from './lib/cpu';
import { Latency } from './lib/histogram';
import { HttpClient, TransportError, type HttpResult } from './lib/http';
import { closedLoop, now, openLoop, sleep, type LoopResult } from './lib/load';
import type { Progress } from './lib/progress';
import {
  STEPS,
  fmt,
  type HotSeatResult,
  type JourneyResult,
  type PhaseResult,
  type StepName,
  type SystemResult,
} from './lib/results';
import { Stock } from './lib/stock';
import { headers, type MeshTarget } from './mesh';
import type { FlowTarget } from './target';

export interface PhaseOptions {
  users: number;
  durationMs: number;
  /** Operations per closed-loop phase instead of a duration. */
  requests?: number;
  warmupMs: number;
  progress: Progress;
  smoke: boolean;
}

/** Latencies of successful operations and a count of failures by label. */
class Recorder {
  readonly latency = new Latency();
  readonly errors: Record<string, number> = {};

  fail(label: string): void {
    this.errors[label] = (this.errors[label] ?? 0) + 1;
  }
}

function phase(
  label: string,
  loop: LoopResult,
  rec: Recorder,
  extra: Pick<PhaseResult, 'kind'> & Partial<PhaseResult>,
): PhaseResult {
  const elapsedS = loop.elapsedMs / 1000;
  return {
    label,
    ok: loop.ok,
    failed: loop.failed,
    elapsedS: Math.round(elapsedS * 100) / 100,
    throughput: elapsedS > 0 ? Math.round((loop.ok / elapsedS) * 10) / 10 : 0,
    latency: rec.latency.summary(),
    exhausted: loop.exhausted,
    errors: rec.errors,
    ...extra,
  };
}

/** Calls per operation between two counts (undefined when either count is unknown). */
function perOp(before: number | undefined, after: number | undefined, ops: number) {
  if (before === undefined || after === undefined || ops <= 0) return undefined;
  return Math.round(((after - before) / ops) * 100) / 100;
}

function line(p: PhaseResult): string {
  const l = p.latency;
  const rate = p.kind === 'open' ? ` at ${fmt(p.rate)}/s` : '';
  const why = Object.entries(p.errors ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([label, n]) => `${n} × ${label}`)
    .join(', ');
  const err = p.failed ? `, ${p.failed} failed (${why})` : '';
  const cut = p.exhausted ? ' (ran out of work early)' : '';
  const cpu = p.cpu
    ? `; CPU ms/op ${Object.entries(p.cpu.msPerOp)
        .map(([g, ms]) => `${g} ${fmt(ms)}`)
        .join(', ')} (machine ${p.cpu.machineCores} cores busy)`
    : '';
  const calls = p.grpcCallsPerOp === undefined ? '' : `; ${fmt(p.grpcCallsPerOp)} gRPC calls/op`;
  return `[bench] ${p.label}${rate}: ${fmt(p.throughput)}/s, p50 ${fmt(l.p50)} p95 ${fmt(l.p95)} p99 ${fmt(l.p99)} ms, ${p.ok} ok${err} in ${p.elapsedS}s${cut}${cpu}${calls}`;
}

/** How many operations a measured phase needs, from the warm-up's rate, with headroom. */
function planned(o: PhaseOptions, warm: LoopResult): number {
  if (o.requests !== undefined) return o.requests + o.users;
  // A warm-up also pays for first connections and JIT: its rate is a floor, hence the margin.
  const rate = warm.ok / Math.max(0.05, warm.elapsedMs / 1000);
  return Math.ceil((rate * o.durationMs * 2) / 1000) + o.users * 25;
}

function warmStock(o: PhaseOptions): number {
  return o.smoke ? o.users * 10 : Math.max(o.users * 40, 1500);
}

// ---- Reserve and Pay ------------------------------------------------------------------------

export interface RateSpec {
  /** Also measure Pay at half of this target's own peak (the modes). */
  ownHalf: boolean;
  /** Also measure Pay at these rates, by the mode whose half-peak they are (the monolith). */
  at?: Partial<Record<TxMode, number>>;
}

/** Peak Reserve, peak Pay, and Pay at fixed rates, for one system. */
export async function flowPhases(
  t: FlowTarget,
  o: PhaseOptions,
  rates: RateSpec,
): Promise<SystemResult> {
  const users = new Stock<User>('users');
  const seats = new Stock<Seat>('seats');
  const holds = new Stock<Hold>('holds');
  const provision = async (n: number) => {
    if (n <= 0) return;
    users.add(await t.users(n));
    seats.add(await t.seats(n));
  };
  const reserveOp = (rec?: Recorder) => async () => {
    const user = users.take();
    const seat = seats.take();
    const t0 = now();
    const a = await t.reserve(user, seat);
    if (a.ok && a.reservationId) {
      rec?.latency.record(now() - t0);
      holds.add([{ user, reservationId: a.reservationId }]);
      return true;
    }
    rec?.fail(a.label);
    return false;
  };
  const payOp =
    (rec: Recorder | undefined, startOf: (scheduled?: number) => number) =>
    async (scheduled?: number) => {
      const hold = holds.take();
      const t0 = startOf(scheduled);
      const a = await t.pay(hold);
      if (a.ok) rec?.latency.record(now() - t0);
      else rec?.fail(a.label);
      return a.ok;
    };
  const ownStart = () => now();
  /** Untimed holds to pay, so a Pay phase never runs dry. */
  const topUp = async (needed: number) => {
    const missing = needed - holds.size;
    if (missing <= 0) return;
    await provision(missing - Math.min(users.size, seats.size));
    const setUp = new Recorder();
    const made = await closedLoop(
      { label: `${t.name} set-up holds`, users: o.users, count: missing },
      reserveOp(setUp),
    );
    if (made.failed)
      throw new Error(
        `${t.name}: ${made.failed} set-up holds failed (${line(phase(`${t.name} set-up holds`, made, setUp, { kind: 'closed' }))})`,
      );
  };
  const out: SystemResult = {};
  const closed = { users: o.users, progress: o.progress };
  const measured = o.requests !== undefined ? { count: o.requests } : { durationMs: o.durationMs };

  // Reserve.
  await provision(warmStock(o));
  o.progress.start(`${t.name} reserve warm-up`);
  const warmReserve = await closedLoop(
    { ...closed, label: 'warm-up', durationMs: o.warmupMs },
    reserveOp(),
  );
  await provision(planned(o, warmReserve) - Math.min(users.size, seats.size));
  await t.settle?.();
  let rec = new Recorder();
  o.progress.start(`${t.name} reserve`);
  let cpu = measureCpu(t.pids());
  let loop = await closedLoop({ ...closed, ...measured, label: 'reserve' }, reserveOp(rec));
  out.reserve = phase(`${t.name} reserve`, loop, rec, {
    kind: 'closed',
    users: o.users,
    cpu: cpu(loop.ok),
  });
  o.progress.done(line(out.reserve));

  // Pay at peak.
  await t.settle?.();
  o.progress.start(`${t.name} pay warm-up`);
  await topUp(o.users * 4);
  const warmPay = await closedLoop(
    { ...closed, label: 'warm-up', durationMs: o.warmupMs },
    payOp(undefined, ownStart),
  );
  await topUp(planned(o, warmPay));
  await t.settle?.();
  rec = new Recorder();
  o.progress.start(`${t.name} pay`);
  cpu = measureCpu(t.pids());
  const callsBefore = await t.grpcCalls?.();
  loop = await closedLoop({ ...closed, ...measured, label: 'pay' }, payOp(rec, ownStart));
  const cpuUse = cpu(loop.ok);
  const callsAfter = await t.grpcCalls?.();
  out.pay = phase(`${t.name} pay`, loop, rec, {
    kind: 'closed',
    users: o.users,
    cpu: cpuUse,
    grpcCallsPerOp: perOp(callsBefore, callsAfter, loop.ok),
  });
  o.progress.done(line(out.pay));

  // Pay at fixed rates (open loop): latency from each request's scheduled start.
  const fixed: ['own' | TxMode, number][] = [];
  if (rates.ownHalf) fixed.push(['own', out.pay.throughput / 2]);
  for (const [mode, rate] of Object.entries(rates.at ?? {})) fixed.push([mode as 'saga', rate]);
  for (const [which, rate] of fixed) {
    if (!(rate > 0)) continue;
    const durationMs = o.requests !== undefined ? (o.requests / rate) * 1000 : o.durationMs;
    await topUp(Math.ceil((rate * durationMs) / 1000) + o.users * 4);
    await t.settle?.();
    rec = new Recorder();
    const label =
      which === 'own' ? `${t.name} pay at half peak` : `${t.name} pay at ${which}'s half peak`;
    o.progress.start(label);
    cpu = measureCpu(t.pids());
    loop = await openLoop(
      { label, rate, durationMs, progress: o.progress },
      payOp(rec, (scheduled) => scheduled ?? now()),
    );
    const result = phase(label, loop, rec, {
      kind: 'open',
      rate: Math.round(rate * 10) / 10,
      cpu: cpu(loop.ok),
    });
    o.progress.done(line(result));
    if (which === 'own') out.payHalf = result;
    else (out.payAt ??= {})[which] = result;
  }
  return out;
}

// ---- Journeys through the gateway -----------------------------------------------------------

interface TokenBody {
  token?: string;
  status?: string;
}

class StepFailed extends Error {}

function label(step: string, res: HttpResult): string {
  const reason = (res.body as { details?: { reason?: string }[] } | undefined)?.details?.[0]
    ?.reason;
  return `${step} ${res.status}${reason ? ` ${reason}` : ''}`;
}

/**
 * Full journeys, each by a new user: queue token → status polls until ACTIVE → seat map of the
 * date → hold a seat that map shows AVAILABLE → pay. Reserve = the hold, Pay = the payment.
 */
export async function journeyPhase(m: MeshTarget, o: PhaseOptions): Promise<JourneyResult> {
  const users = new Stock<User>('users');
  const seats = new Stock<Seat>('seats');
  const provision = async (n: number) => {
    if (n <= 0) return;
    users.add(await m.walletUsers(n));
    seats.add(await m.seats(n));
  };
  const steps = Object.fromEntries(STEPS.map((s) => [s, new Latency()])) as Record<
    StepName,
    Latency
  >;
  const total = new Latency();
  const errors: Record<string, number> = {};
  let recording = false;

  const timed = async <T>(step: StepName, fn: () => Promise<T>): Promise<T> => {
    const t0 = now();
    const out = await fn();
    if (recording) steps[step].record(now() - t0);
    return out;
  };
  const expect = (step: string, res: HttpResult, status: number) => {
    if (res.status !== status) throw new StepFailed(label(step, res));
  };
  const journey = async (): Promise<boolean> => {
    const user = users.take();
    const seat = seats.take();
    const start = now();
    try {
      const issued = await timed('token', () => m.issueToken(user));
      expect('token', issued, 201);
      const token = issued.body as TokenBody;
      user.queueToken = token.token;
      await timed('wait-active', async () => {
        for (let polls = 0; ; polls++) {
          const s = await m.status(user);
          expect('wait-active', s, 200);
          if ((s.body as TokenBody).status === 'ACTIVE') return;
          if (polls > 600) throw new StepFailed('wait-active never ACTIVE');
          await sleep(50);
        }
      });
      const map = await timed('seat-map', () => m.seatMap(user, seat));
      expect('seat-map', map, 200);
      const shown = (map.body as { seats?: { seatNumber: number; status: string }[] }).seats?.[
        seat.seatNumber - 1
      ];
      if (shown?.seatNumber !== seat.seatNumber || shown.status !== 'AVAILABLE')
        throw new StepFailed(
          `seat-map shows seat ${seat.seatNumber} ${shown?.status ?? 'missing'}`,
        );
      const held = await timed('hold', () => m.reserveRequest(user, seat));
      expect('hold', held, 201);
      const reservationId = (held.body as { reservationId: string }).reservationId;
      const paid = await timed('pay', () => m.payRequest({ user, reservationId }));
      expect('pay', paid, 201);
      if (recording) total.record(now() - start);
      return true;
    } catch (err) {
      if (!recording) throw err;
      const what =
        err instanceof StepFailed
          ? err.message
          : err instanceof TransportError
            ? `transport ${err.message.slice(0, 60)}`
            : String(err).slice(0, 80);
      errors[what] = (errors[what] ?? 0) + 1;
      return false;
    }
  };

  await provision(warmStock(o));
  o.progress.start(`${m.name} journeys warm-up`);
  const warm = await closedLoop(
    { label: 'warm-up', users: o.users, durationMs: o.warmupMs, progress: o.progress },
    journey,
  );
  await provision(planned(o, warm) - Math.min(users.size, seats.size));
  await m.settle();
  recording = true;
  o.progress.start(`${m.name} journeys`);
  const measured = o.requests !== undefined ? { count: o.requests } : { durationMs: o.durationMs };
  const loop = await closedLoop(
    { label: 'journeys', users: o.users, progress: o.progress, ...measured },
    journey,
  );
  const rec = new Recorder();
  rec.latency.add(total);
  Object.assign(rec.errors, errors);
  const base = phase(`${m.name} journeys`, loop, rec, { kind: 'closed', users: o.users });
  const result: JourneyResult = {
    ...base,
    steps: Object.fromEntries(STEPS.map((s) => [s, steps[s].summary()])) as JourneyResult['steps'],
    flows: { reserve: steps.hold.summary(), pay: steps.pay.summary() },
  };
  o.progress.done(line(result));
  return result;
}

// ---- Hot seat ---------------------------------------------------------------------------------

/** `n` users with ACTIVE tokens hold the same seat at the same instant. */
export async function hotSeat(
  m: MeshTarget,
  n: number,
  progress: Progress,
): Promise<HotSeatResult> {
  progress.start(`${m.name} hot seat`);
  const [seat] = await m.smallConcert(1);
  const users = await m.users(n);
  const client = new HttpClient(m.url, n);
  try {
    // Connections first: the burst measures holds, not n handshakes against the accept backlog.
    await client.warm(n, '/healthz');
    const latency = new Latency();
    const counts: Record<string, number> = {};
    const burst = now();
    await Promise.all(
      users.map(async (u) => {
        const t0 = now();
        let key: string;
        try {
          const res = await m.reserveRequest(u, seat, client);
          latency.record(now() - t0);
          key = res.status === 201 || res.status === 409 ? String(res.status) : label('hold', res);
        } catch (err) {
          key = `transport ${err instanceof Error ? err.message.slice(0, 60) : String(err)}`;
        }
        counts[key] = (counts[key] ?? 0) + 1;
      }),
    );
    const lastAnswerMs = Math.round((now() - burst) * 10) / 10;
    const { '201': winners = 0, '409': conflicts = 0, ...other } = counts;
    const result: HotSeatResult = {
      holds: n,
      winners,
      conflicts,
      other,
      latency: latency.summary(),
      lastAnswerMs,
    };
    progress.done(
      `[bench] ${m.name} hot seat: ${n} holds → ${winners} × 201, ${conflicts} × 409` +
        `${Object.keys(other).length ? `, other ${JSON.stringify(other)}` : ''}, last answer after ${fmt(lastAnswerMs)} ms (p99 ${fmt(result.latency.p99)} ms)`,
    );
    return result;
  } finally {
    client.close();
  }
}

// ---- Closed-loop phases of one request: the status poll, the bare gRPC call ------------------

/**
 * `users` loops running `op` as fast as answers come, after a warm-up of the same; `op` answers
 * undefined on success or the failure's label. With `pids`, the phase records CPU per operation.
 */
async function closedPhase(
  name: string,
  op: (vu: number) => Promise<string | undefined>,
  o: PhaseOptions,
  pids?: number[],
): Promise<PhaseResult> {
  const run = (rec?: Recorder) => async (vu: number) => {
    const t0 = now();
    const failure = await op(vu);
    if (failure === undefined) rec?.latency.record(now() - t0);
    else rec?.fail(failure);
    return failure === undefined;
  };
  o.progress.start(`${name} warm-up`);
  await closedLoop({ label: 'warm-up', users: o.users, durationMs: o.warmupMs }, run());
  const rec = new Recorder();
  o.progress.start(name);
  const measured = o.requests !== undefined ? { count: o.requests } : { durationMs: o.durationMs };
  const cpu = pids && measureCpu(pids);
  const loop = await closedLoop(
    { label: name, users: o.users, progress: o.progress, ...measured },
    run(rec),
  );
  const result = phase(name, loop, rec, { kind: 'closed', users: o.users, cpu: cpu?.(loop.ok) });
  o.progress.done(line(result));
  return result;
}

/** GET `path` as fast as `users` loops can, each with its own headers; 200 is success. */
export async function pollPhase(
  name: string,
  url: string,
  path: string,
  headersOf: (vu: number) => Record<string, string>,
  o: PhaseOptions,
): Promise<PhaseResult> {
  const client = new HttpClient(url, o.users);
  try {
    return await closedPhase(
      name,
      async (vu) => {
        let res: HttpResult;
        try {
          res = await client.request('GET', path, { headers: headersOf(vu) });
        } catch (err) {
          return `transport ${err instanceof Error ? err.message.slice(0, 60) : ''}`;
        }
        return res.status === 200 ? undefined : label('status', res);
      },
      o,
    );
  } finally {
    client.close();
  }
}

/** One gRPC call at a time per user, to a server with nothing behind it; CPU per call. */
export function grpcCallPhase(target: BareGrpcTarget, o: PhaseOptions): Promise<PhaseResult> {
  return closedPhase(
    'bare gRPC call',
    (vu) =>
      target.call(vu).then(
        () => undefined,
        (err: unknown) => `gRPC ${err instanceof Error ? err.message.slice(0, 60) : String(err)}`,
      ),
    o,
    target.pids(),
  );
}

/** The gateway's GET /api/v1/queue/status, each virtual user polling its own token. */
export async function gatewayPoll(m: MeshTarget, o: PhaseOptions): Promise<PhaseResult> {
  const users = await m.users(o.users);
  return pollPhase(
    `${m.name} queue status poll`,
    m.url,
    '/api/v1/queue/status',
    (vu) => headers(users[vu]),
    o,
  );
}
