// The reservation's use cases. Every transactional one runs as a branch through the
// participant (XA branch, saga action behind the barrier, or local transaction) and is one
// conditional update on the state it expects; only a refused update is followed by a read,
// and that read only explains the refusal.
import type { TxContext } from '../../lib/participant/context';
import { isDuplicateKey, type Database } from '../../lib/db';
import { DomainError, invalidArgument } from '../../lib/errors';
import type { Participant } from '../../lib/participant/participant';
import * as rows from './data/reservations';
import type { ReservationRecord, Transition } from './data/reservations';
import { reservationCompleted, reservationExpired } from './domain/events';
import {
  assertHold,
  assertOwner,
  assertPaymentId,
  expiryRefusal,
  holdExpiresAt,
  ownerView,
  paymentRefusal,
  type HoldInput,
  type ReservationStatusName,
} from './domain/reservation';

/**
 * A reservation as the contract shows it. JSON-safe on purpose: a saga action's result is
 * stored as JSON by the barrier and handed back to duplicates and to the compensation.
 */
export interface ReservationView {
  reservationId: string;
  concertId: string;
  scheduleId: string;
  date: string;
  seatNumber: number;
  price: number;
  status: ReservationStatusName;
  expiresAt: string;
  paymentId?: string;
}

export interface HeldReservation {
  reservation: ReservationView;
}

export interface PayingReservation {
  reservation: ReservationView;
  seatId: string;
}

export interface PaymentRef {
  reservationId: string;
  paymentId: string;
}

export class ReservationBook {
  constructor(
    private readonly db: Database,
    private readonly participant: Participant,
    private readonly holdSeconds: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Reserve: records the hold under the id the coordinator minted. */
  async createHold(branch: TxContext | undefined, input: HoldInput): Promise<HeldReservation> {
    assertHold(input);
    return this.participant.action(branch, async (tx) => {
      const now = this.clock();
      const hold = { ...input, expiresAt: holdExpiresAt(now, this.holdSeconds), createdAt: now };
      try {
        await rows.insertHold(tx, hold);
      } catch (err) {
        // Ids are minted once per flow, so an existing row belongs to another transaction.
        if (isDuplicateKey(err)) {
          throw new DomainError(
            'BRANCH_REFUSED',
            `reservation ${input.reservationId} already exists`,
          );
        }
        throw err;
      }
      return { reservation: internalView(newHold(hold)) };
    });
  }

  /** Compensation of createHold: the hold it made is cancelled, if still HELD. */
  cancelHold(branch: TxContext | undefined): Promise<void> {
    return this.participant.compensate<HeldReservation>(branch, async (tx, made) => {
      await rows.cancelHold(tx, made.reservation.reservationId, this.clock());
    });
  }

  /** Pay: HELD → PAYING, the semantic lock that keeps the sweeper and other payments away. */
  async beginPayment(
    branch: TxContext | undefined,
    req: { reservationId: string; userId: string; paymentId: string },
  ): Promise<PayingReservation> {
    assertPaymentId(req.paymentId);
    const { reservationId, userId, paymentId } = req;
    return this.participant.action(
      branch,
      async (tx) => {
        const now = this.clock();
        const t = await rows.beginPayment(tx, reservationId, userId, paymentId, now);
        if (!t.changed)
          throw paymentRefusal(reservationId, t.row, userId, now) ?? busy(reservationId);
        const r = present(t, reservationId);
        return { reservation: internalView(r), seatId: r.seatId };
      },
      // Another transaction holds the row (a concurrent payment, an expiry): only what the row
      // says now refuses; while it is still HELD and payable, the payer may try again.
      {
        explainContention: async (reads) =>
          paymentRefusal(
            reservationId,
            await rows.findReservation(reads, reservationId),
            userId,
            this.clock(),
          ),
      },
    );
  }

  /** Compensation of beginPayment: PAYING → HELD, so the hold can be paid again or expire. */
  resumeHold(branch: TxContext | undefined): Promise<void> {
    return this.participant.compensate<PayingReservation>(branch, async (tx, began) => {
      const { reservationId, paymentId } = began.reservation;
      if (paymentId !== undefined)
        await rows.resumeHold(tx, reservationId, paymentId, this.clock());
    });
  }

  /**
   * Pay, last step: PAYING → CONFIRMED, and ReservationCompleted in the same transaction. It
   * is Pay's pivot, never compensated: the event leaves the system once this commits.
   */
  confirm(branch: TxContext | undefined, ref: PaymentRef): Promise<PaymentRef> {
    return this.participant.action(branch, async (tx) => {
      const t = await rows.confirm(tx, ref.reservationId, ref.paymentId, this.clock());
      if (!t.changed) throw notPaidBy(ref, 'PAYING');
      await tx.emit(reservationCompleted(present(t, ref.reservationId)));
      return { reservationId: ref.reservationId, paymentId: ref.paymentId };
    });
  }

  /** Expire: an overdue HELD → EXPIRED, with ReservationExpired; answers the seat to release. */
  expire(branch: TxContext | undefined, reservationId: string): Promise<{ seatId: string }> {
    return this.participant.action(branch, async (tx) => {
      const now = this.clock();
      const t = await rows.expire(tx, reservationId, now);
      if (!t.changed) throw expiryRefusal(reservationId, t.row, now);
      const r = present(t, reservationId);
      await tx.emit(reservationExpired(r));
      return { seatId: r.seatId };
    });
  }

  /** Refund: CONFIRMED → CANCELLED; answers the seat to release. */
  cancel(branch: TxContext | undefined, ref: PaymentRef): Promise<{ seatId: string }> {
    return this.participant.action(branch, async (tx) => {
      const t = await rows.cancelPaid(tx, ref.reservationId, ref.paymentId, this.clock());
      if (!t.changed) throw notPaidBy(ref, 'CONFIRMED');
      return { seatId: present(t, ref.reservationId).seatId };
    });
  }

  /** The owner's view of a reservation; for anyone else it does not exist. */
  async get(caller: string, reservationId: string): Promise<ReservationView> {
    const r = await rows.findReservation(this.db, reservationId);
    assertOwner(reservationId, r, caller);
    return { ...internalView(r), ...ownerView(r.status, r.paymentId) };
  }

  /** The live holds of a schedule, for operators. */
  holds(scheduleId: string): Promise<rows.LiveHold[]> {
    if (scheduleId.trim() === '' || scheduleId.length > 64)
      throw invalidArgument('scheduleId', 'scheduleId is required (at most 64 characters)');
    return rows.liveHolds(this.db, scheduleId);
  }

  /** Ids of holds overdue now, oldest first. */
  overdue(limit: number): Promise<string[]> {
    return rows.overdueHolds(this.db, this.clock(), limit);
  }
}

/** The row createHold inserted, without reading it back. */
function newHold(hold: rows.NewHold): ReservationRecord {
  return {
    id: hold.reservationId,
    userId: hold.userId,
    concertId: hold.concertId,
    scheduleId: hold.scheduleId,
    date: hold.date,
    seatNumber: hold.seatNumber,
    seatId: hold.seatId,
    price: hold.price,
    status: 'HELD',
    paymentId: null,
    expiresAt: hold.expiresAt,
    createdAt: hold.createdAt,
    updatedAt: hold.createdAt,
  };
}

function internalView(r: ReservationRecord): ReservationView {
  return {
    reservationId: r.id,
    concertId: r.concertId,
    scheduleId: r.scheduleId,
    date: r.date,
    seatNumber: r.seatNumber,
    price: r.price,
    status: r.status,
    expiresAt: r.expiresAt.toISOString(),
    paymentId: r.paymentId ?? undefined,
  };
}

/** The row a transition changed, read back in its own transaction. */
function present(t: Transition, id: string): ReservationRecord {
  if (!t.row) throw new Error(`reservation ${id} vanished inside its own transaction`);
  return t.row;
}

function busy(reservationId: string): DomainError {
  return new DomainError(
    'UNAVAILABLE',
    `reservation ${reservationId} was busy with another payment; try again`,
  );
}

function notPaidBy(ref: PaymentRef, expected: ReservationStatusName): DomainError {
  return new DomainError(
    'BRANCH_REFUSED',
    `reservation ${ref.reservationId} is not ${expected} under payment ${ref.paymentId}`,
  );
}
