// The Reserve and Pay flows as straight-line scripts over the participants' own use cases
// (services/*: Booking, ReservationBook, Cashier, Wallets), so every baseline runs exactly the
// statements the services run. What changes between baselines is only how each branch runs:
//   monolith: every step inside ONE local transaction on one database (no barrier, no XA);
//   raw saga: each step a local transaction behind the barrier, plus the coordinator's log;
//   raw XA:   each participant an XA branch (prepared in parallel as the engine plans them),
//             the decision logged, phase 2, plus the coordinator's log.
// No gRPC, no HTTP, no coordinator engine: what is left is the database work of each shape.
import type { Database, Sql, SqlParam } from '../lib/db';
import { newId } from '../lib/ids';
import type { TxMode } from '../lib/txMode';
import type { TxContext } from '../lib/participant/context';
import { Participant } from '../lib/participant/participant';
import type { BranchRecord, TxLog } from '../coordinator/engine/log';
import { Booking } from '../services/concert/booking';
import { Cashier } from '../services/payment/cashier';
import { Wallets } from '../services/point/wallets';
import { ReservationBook, type ReservationView } from '../services/reservation/reservationBook';

export const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'] as const;
export type ParticipantName = (typeof PARTICIPANTS)[number];

export interface ReserveInput {
  userId: string;
  concertId: string;
  date: string;
  seatNumber: number;
}

export interface PayInput {
  userId: string;
  reservationId: string;
}

/** What Pay answers (the gateway's PayResponse, as JSON). */
export interface Paid {
  paymentId: string;
  reservationId: string;
  amount: number;
  status: 'PAID';
  paidAt: string;
  balance: number;
}

/** The four participants' use cases, each bound to its participant (and database). */
export interface UseCases {
  booking: Booking;
  book: ReservationBook;
  cashier: Cashier;
  wallets: Wallets;
}

export function useCases(
  dbs: Record<ParticipantName, Database>,
  participants: Record<ParticipantName, Participant>,
  holdSeconds: number,
): UseCases {
  return {
    booking: new Booking(participants.concert, dbs.concert),
    book: new ReservationBook(dbs.reservation, participants.reservation, holdSeconds),
    cashier: new Cashier(dbs.payment, participants.payment),
    wallets: new Wallets(dbs.point, participants.point),
  };
}

/** How one step's call is made: the transaction context it carries (none: a local step). */
type BranchMd = (
  step: string,
  participant: ParticipantName,
  prepare: boolean,
) => TxContext | undefined;

async function reserveSteps(
  u: UseCases,
  md: BranchMd,
  reservationId: string,
  input: ReserveInput,
): Promise<ReservationView> {
  const held = await u.booking.hold(md('hold-seat', 'concert', true), {
    concertId: input.concertId,
    date: input.date,
    seatNumber: input.seatNumber,
    reservationId,
  });
  const { reservation } = await u.book.createHold(md('create-hold', 'reservation', true), {
    reservationId,
    userId: input.userId,
    concertId: input.concertId,
    scheduleId: held.scheduleId,
    date: input.date,
    seatNumber: input.seatNumber,
    seatId: held.seatId,
    price: held.price,
  });
  return reservation;
}

/** Pay's steps in the coordinator's order; `parallel`: the four after begin-payment at once (XA). */
async function paySteps(
  u: UseCases,
  md: BranchMd,
  paymentId: string,
  input: PayInput,
  parallel: boolean,
): Promise<Paid> {
  const { reservationId, userId } = input;
  const began = await u.book.beginPayment(md('begin-payment', 'reservation', false), {
    reservationId,
    userId,
    paymentId,
  });
  const amount = began.reservation.price;
  const steps = [
    () => u.wallets.use(md('use-points', 'point', true), { userId, amount, reference: paymentId }),
    () =>
      u.cashier.record(md('record-payment', 'payment', true), {
        paymentId,
        reservationId,
        userId,
        amount,
      }),
    () => u.booking.sell(md('sell-seat', 'concert', true), began.seatId, reservationId),
    () => u.book.confirm(md('confirm', 'reservation', true), { reservationId, paymentId }),
  ] as const;
  let used: Awaited<ReturnType<(typeof steps)[0]>>;
  let recorded: Awaited<ReturnType<(typeof steps)[1]>>;
  if (parallel) {
    [used, recorded] = await Promise.all([steps[0](), steps[1](), steps[2](), steps[3]()]);
  } else {
    used = await steps[0]();
    recorded = await steps[1]();
    await steps[2]();
    await steps[3]();
  }
  return {
    paymentId,
    reservationId,
    amount,
    status: 'PAID',
    paidAt: recorded.payment.paidAt,
    balance: used.balance,
  };
}

// ---- monolith: one local transaction -------------------------------------------------------

/**
 * The open transaction seen as a Database: a participant with no transaction context runs its
 * branch through `transaction()`, which here joins the transaction already open instead of
 * starting one. So each use case runs its statements, and only the outer COMMIT commits.
 */
function joined(tx: Sql): Database {
  const db: Pick<Database, 'query' | 'execute' | 'transaction'> = {
    query: <T>(q: string, p?: SqlParam[]) => tx.query<T>(q, p),
    execute: (q: string, p?: SqlParam[]) => tx.execute(q, p),
    transaction: <T>(fn: (sql: Sql) => Promise<T>) => fn(tx),
  };
  return db as unknown as Database;
}

function monolithUseCases(tx: Sql, holdSeconds: number): UseCases {
  const db = joined(tx);
  const p = new Participant('monolith', db, undefined);
  return useCases(
    { concert: db, reservation: db, payment: db, point: db },
    { concert: p, reservation: p, payment: p, point: p },
    holdSeconds,
  );
}

const local: BranchMd = () => undefined;

/** Reserve as the monolith runs it: hold the seat and record the hold in one transaction. */
export function monolithReserve(
  db: Database,
  input: ReserveInput,
  holdSeconds: number,
): Promise<ReservationView> {
  return db.transaction((tx) =>
    reserveSteps(monolithUseCases(tx, holdSeconds), local, newId(), input),
  );
}

/** Pay as the monolith runs it: every step of the flow in one transaction. */
export function monolithPay(db: Database, input: PayInput, holdSeconds: number): Promise<Paid> {
  return db.transaction((tx) =>
    paySteps(monolithUseCases(tx, holdSeconds), local, newId(), input, false),
  );
}

// ---- raw saga and raw XA: the distributed shapes without the services ------------------------

export interface Distributed {
  use: UseCases;
  log: TxLog;
  /** Phase 2 of a participant's XA branch (XA only). */
  commit?: (participant: ParticipantName, gid: string) => Promise<void>;
}

const OWNER = 'bench-raw';
const TTL_MS = 30_000;

function branches(records: [string, ParticipantName, string][], action = 'action'): BranchRecord[] {
  // The coordinator records each branch's span; the raw shape writes one as wide.
  const now = new Date();
  return records.map(([branchId, participant, state]) => ({
    branchId,
    participant,
    action,
    state,
    attempts: 1,
    lastError: null,
    startedAt: now,
    endedAt: now,
  }));
}

async function begin(log: TxLog, gid: string, flow: string, mode: TxMode, input: unknown) {
  const now = new Date();
  const deadlineAt = new Date(now.getTime() + TTL_MS);
  await log.begin(
    {
      gid,
      flow,
      mode,
      payload: input,
      owner: OWNER,
      deadlineAt,
      leaseUntil: new Date(deadlineAt.getTime() + 2000),
    },
    now,
  );
}

/** A branch call's context expiry, as the coordinator sets it. */
const live = () => Date.now() + 3000;

const saga =
  (gid: string): BranchMd =>
  (step) => ({
    gid,
    branchId: step,
    mode: 'saga',
    op: 'action',
    prepare: false,
    expiresAt: live(),
  });

const xa =
  (gid: string): BranchMd =>
  (_step, participant, prepare) => ({
    gid,
    branchId: participant,
    mode: 'xa',
    op: 'action',
    prepare,
    expiresAt: live(),
  });

/** Saga Reserve: log begin, two barrier-guarded local transactions, log the outcome. */
export async function sagaReserve(d: Distributed, input: ReserveInput): Promise<ReservationView> {
  const reservationId = newId();
  const gid = newId();
  await begin(d.log, gid, 'reserve', 'saga', { reservationId, ...input });
  const reservation = await reserveSteps(d.use, saga(gid), reservationId, input);
  await d.log.transition(gid, 'RUNNING', 'COMMITTED', new Date(), {
    outcome: { ok: true, value: reservation },
    branches: branches([
      ['hold-seat', 'concert', 'DONE'],
      ['create-hold', 'reservation', 'DONE'],
    ]),
  });
  return reservation;
}

/** Saga Pay: log begin, five barrier-guarded local transactions in order, log the outcome. */
export async function sagaPay(d: Distributed, input: PayInput): Promise<Paid> {
  const paymentId = newId();
  const gid = newId();
  await begin(d.log, gid, 'pay', 'saga', { paymentId, ...input });
  const paid = await paySteps(d.use, saga(gid), paymentId, input, false);
  await d.log.transition(gid, 'RUNNING', 'COMMITTED', new Date(), {
    outcome: { ok: true, value: paid },
    branches: branches(PAY_STEPS.map(([s, p]) => [s, p, 'DONE'])),
  });
  return paid;
}

const PAY_STEPS: [string, ParticipantName][] = [
  ['begin-payment', 'reservation'],
  ['use-points', 'point'],
  ['record-payment', 'payment'],
  ['sell-seat', 'concert'],
  ['confirm', 'reservation'],
];

async function commitAll(
  d: Distributed,
  gid: string,
  participants: readonly ParticipantName[],
): Promise<BranchRecord[]> {
  if (!d.commit) throw new Error('XA needs a phase-2 commit');
  const commit = d.commit;
  await Promise.all(participants.map((p) => commit(p, gid)));
  return branches(
    participants.map((p) => [`${p}:commit`, p, 'COMMITTED']),
    'commit',
  );
}

/** XA Reserve: log begin, the seat branch then the reservation branch (each prepared), decide, commit. */
export async function xaReserve(d: Distributed, input: ReserveInput): Promise<ReservationView> {
  const reservationId = newId();
  const gid = newId();
  await begin(d.log, gid, 'reserve', 'xa', { reservationId, ...input });
  const reservation = await reserveSteps(d.use, xa(gid), reservationId, input);
  const outcome = { ok: true as const, value: reservation };
  const voted = branches([
    ['hold-seat', 'concert', 'PREPARED'],
    ['create-hold', 'reservation', 'PREPARED'],
  ]);
  await d.log.transition(gid, 'RUNNING', 'COMMITTING', new Date(), { outcome, branches: voted });
  const committed = await commitAll(d, gid, ['concert', 'reservation']);
  await d.log.transition(gid, 'COMMITTING', 'COMMITTED', new Date(), {
    outcome,
    branches: [...voted, ...committed],
  });
  return reservation;
}

/** XA Pay: log begin, begin-payment, then four branches prepared in parallel, decide, commit. */
export async function xaPay(d: Distributed, input: PayInput): Promise<Paid> {
  const paymentId = newId();
  const gid = newId();
  await begin(d.log, gid, 'pay', 'xa', { paymentId, ...input });
  const paid = await paySteps(d.use, xa(gid), paymentId, input, true);
  const outcome = { ok: true as const, value: paid };
  const voted = branches(
    PAY_STEPS.map(([s, p]) => [s, p, s === 'begin-payment' ? 'DONE' : 'PREPARED']),
  );
  await d.log.transition(gid, 'RUNNING', 'COMMITTING', new Date(), { outcome, branches: voted });
  const committed = await commitAll(d, gid, PARTICIPANTS);
  await d.log.transition(gid, 'COMMITTING', 'COMMITTED', new Date(), {
    outcome,
    branches: [...voted, ...committed],
  });
  return paid;
}
