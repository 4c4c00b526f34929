// What every system under test offers the flow phases: users and seats to work with (set-up,
// not measured), and the two flows, Reserve and Pay (measured).
import type { Hold, Seat, User } from './fixtures';
import type { HttpResult } from './lib/http';
import { TransportError } from './lib/http';
import type { SystemName } from './lib/results';

export interface Answer {
  ok: boolean;
  /** "201", "409 SEAT_UNAVAILABLE", "0 <transport error>", "error <reason>". */
  label: string;
  reservationId?: string;
}

export interface FlowTarget {
  readonly name: SystemName;
  /** Users ready to reserve and pay: points in their wallet (and an ACTIVE queue token). */
  users(n: number): Promise<User[]>;
  /** AVAILABLE seats, each handed out once. */
  seats(n: number): Promise<Seat[]>;
  reserve(user: User, seat: Seat): Promise<Answer>;
  pay(hold: Hold): Promise<Answer>;
  /** The processes serving it, whose CPU a phase records (none: it runs in the load generator). */
  pids(): number[];
  /** gRPC calls its servers have handled so far, when it can count them; optional. */
  grpcCalls?(): Promise<number | undefined>;
  /** Waits until work the last phase left behind (events, relays) is done; optional. */
  settle?(): Promise<void>;
  close(): Promise<void>;
}

interface ErrorBody {
  details?: { reason?: string }[];
  reservationId?: string;
}

/** An HTTP answer as a flow result: ok when the status is the expected one. */
export function answerOf(res: HttpResult, expected: number): Answer {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as ErrorBody;
  if (res.status === expected)
    return { ok: true, label: String(res.status), reservationId: body.reservationId };
  const reason = body.details?.[0]?.reason;
  return { ok: false, label: reason ? `${res.status} ${reason}` : String(res.status) };
}

/** A thrown error as a flow result (transport failures, or a baseline's refusal). */
export function failureOf(err: unknown): Answer {
  if (err instanceof TransportError) return { ok: false, label: `0 ${err.message.slice(0, 60)}` };
  const reason = (err as { reason?: unknown; code?: unknown } | null)?.reason;
  const code = (err as { code?: unknown } | null)?.code;
  return {
    ok: false,
    label: `error ${typeof reason === 'string' ? reason : typeof code === 'string' ? code : String(err).slice(0, 60)}`,
  };
}

/** Runs an HTTP call and turns a transport failure into an Answer. */
export async function call(fn: () => Promise<HttpResult>, expected: number): Promise<Answer> {
  try {
    return answerOf(await fn(), expected);
  } catch (err) {
    return failureOf(err);
  }
}
