// Booking branches of the global transactions (docs/architecture.md): hold, release, sell, unsell a
// seat. Each runs its SQL through the participant library, which makes it an XA branch, a saga
// action behind the barrier or a local transaction from the call's transaction context. An
// action returns everything its compensation needs: a compensation request carries only ids.
import type { TxContext } from '../../lib/participant/context';
import type { Sql } from '../../lib/db';
import type { Participant } from '../../lib/participant/participant';
import {
  assertReservationId,
  bookingClosed,
  isBookingOpen,
  isSeatNumberOf,
  parseSeatId,
  scheduleNotFound,
  seatId,
  seatNotFound,
  seatUnavailable,
} from './domain/booking';
import { isCalendarDate } from './domain/dates';
import * as seats from './data/seats';
import type { SeatKey } from './data/seats';

/** A seat by concert, date and number, as a client names it. */
export interface SeatRequest {
  concertId: string;
  date: string;
  seatNumber: number;
}

export interface HoldRequest extends SeatRequest {
  reservationId: string;
}

/** A seat and the reservation it is held by or sold to: what HoldSeat and SellSeat return. */
export interface SeatClaim {
  seatId: string;
  reservationId: string;
}

export interface HeldSeat extends SeatClaim {
  scheduleId: string;
  price: number;
}

export class Booking {
  private readonly schedules = new seats.KnownSchedules();

  constructor(
    private readonly participant: Participant,
    /** Where the guard reads, outside any transaction. */
    private readonly reads: Sql,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Reserve's guard: refuses, outside any transaction, a hold that would be refused right now.
   * Only a refusal means anything: a seat that looks free may be taken before the hold runs, so
   * the hold decides; a guard that answers saves a losing request its whole transaction.
   */
  async checkHold(req: SeatRequest): Promise<void> {
    const seat = await this.bookableSeat(this.reads, req, this.clock());
    if (!(await seats.isAvailable(this.reads, seat))) throw seatUnavailable(seatName(req));
  }

  /** Reserve: AVAILABLE -> HELD by the reservation. Compensated by release. */
  hold(branch: TxContext | undefined, req: HoldRequest): Promise<HeldSeat> {
    assertReservationId(req.reservationId);
    return this.participant.action(
      branch,
      async (tx) => {
        const now = this.clock();
        const seat = await this.bookableSeat(tx, req, now);
        const { held, price } = await seats.hold(tx, seat, req.reservationId, now);
        if (!held) throw seatUnavailable(seatName(req));
        return {
          seatId: seatId(seat.scheduleId, req.seatNumber),
          scheduleId: seat.scheduleId,
          price: price ?? 0,
          reservationId: req.reservationId,
        };
      },
      // A concurrent holder's XA branch keeps the row locked until its phase 2: the seat is
      // refused only if it is taken as it stands; one still free may be tried again.
      {
        explainContention: async (reads) => {
          const seat = await this.bookableSeat(reads, req, this.clock());
          return (await seats.isAvailable(reads, seat))
            ? undefined
            : seatUnavailable(seatName(req));
        },
      },
    );
  }

  /** Expire, Refund: the reservation's seat back to AVAILABLE; a seat released already is fine. */
  async release(branch: TxContext | undefined, id: string, reservationId: string): Promise<void> {
    const seat = seatKey(id);
    await this.participant.action(branch, async (tx) => ({
      released: await seats.release(tx, seat, reservationId, this.clock()),
    }));
  }

  /** The compensation of hold: the seat it held goes back to AVAILABLE, from its own result. */
  async unhold(branch: TxContext | undefined): Promise<void> {
    await this.participant.compensate<HeldSeat>(branch, async (tx, held) => {
      await seats.release(tx, seatKey(held.seatId), held.reservationId, this.clock());
    });
  }

  /** Pay: HELD by the reservation -> SOLD to it. Compensated by unsell. */
  sell(branch: TxContext | undefined, id: string, reservationId: string): Promise<SeatClaim> {
    const seat = seatKey(id);
    return this.participant.action(branch, async (tx) => {
      if (await seats.sell(tx, seat, reservationId, this.clock()))
        return { seatId: id, reservationId };
      // Only a refusal is explained, and only after the update has answered.
      if ((await seats.priceOf(tx, seat)) === undefined) throw seatNotFound(id);
      throw seatUnavailable(id);
    });
  }

  /** The compensation of sell: SOLD to the reservation -> HELD by it again. */
  async unsell(branch: TxContext | undefined): Promise<void> {
    await this.participant.compensate<SeatClaim>(branch, async (tx, sold) => {
      await seats.unsell(tx, seatKey(sold.seatId), sold.reservationId, this.clock());
    });
  }

  /** The seat asked for, once its date exists, its booking window is open and it has the number. */
  private async bookableSeat(sql: Sql, req: SeatRequest, now: Date): Promise<SeatKey> {
    // The schedule never changes once created: reading it first decides nothing.
    const schedule = isCalendarDate(req.date)
      ? await this.schedules.find(sql, req.concertId, req.date)
      : undefined;
    if (!schedule) throw scheduleNotFound(req.concertId, req.date);
    if (!isBookingOpen(schedule, now)) throw bookingClosed(req.date);
    if (!isSeatNumberOf(schedule.totalSeats, req.seatNumber)) throw seatNotFound(seatName(req));
    return { scheduleId: schedule.id, seatNumber: req.seatNumber };
  }
}

function seatName(req: SeatRequest): string {
  return `${req.seatNumber} on ${req.date}`;
}

function seatKey(id: string): SeatKey {
  const seat = parseSeatId(id);
  if (!seat) throw seatNotFound(id);
  return seat;
}
