// gRPC adapter of the reservation service: decode, call one use case, encode.
import { bindService, requireUser, type ServiceBinding } from '../../lib/grpc/server';
import {
  ReservationServiceService,
  ReservationStatus,
  type Reservation,
} from '../../gen/boxoffice/reservation/v1/reservation';
import type { ReservationBook, ReservationView } from './reservationBook';

export function reservationService(book: ReservationBook): ServiceBinding {
  return bindService('boxoffice.reservation.v1.ReservationService', ReservationServiceService, {
    async getReservation(req, ctx) {
      const caller = requireUser(ctx).userId;
      return { reservation: toProto(await book.get(caller, req.reservationId)) };
    },
    // Operators (access: ADMIN_REQUIRED from the gateway, or the operator identity).
    async listHolds(req) {
      const holds = await book.holds(req.scheduleId);
      return {
        holds: holds.map((h) => ({
          ...h,
          status: ReservationStatus[h.status],
          expiresAt: h.expiresAt.toISOString(),
        })),
      };
    },
    async createHold(req, ctx) {
      const { reservation } = await book.createHold(ctx.tx, {
        reservationId: req.reservationId,
        userId: req.userId,
        concertId: req.concertId,
        scheduleId: req.scheduleId,
        date: req.date,
        seatNumber: req.seatNumber,
        seatId: req.seatId,
        price: req.price,
      });
      return { reservation: toProto(reservation) };
    },
    async cancelHold(_req, ctx) {
      await book.cancelHold(ctx.tx);
      return {};
    },
    async beginPayment(req, ctx) {
      const { reservation, seatId } = await book.beginPayment(ctx.tx, req);
      return { reservation: toProto(reservation), seatId };
    },
    async resumeHold(_req, ctx) {
      await book.resumeHold(ctx.tx);
      return {};
    },
    async confirm(req, ctx) {
      await book.confirm(ctx.tx, req);
      return {};
    },
    async expire(req, ctx) {
      return book.expire(ctx.tx, req.reservationId);
    },
    async cancel(req, ctx) {
      return book.cancel(ctx.tx, req);
    },
  });
}

function toProto(view: ReservationView): Reservation {
  return { ...view, status: ReservationStatus[view.status] };
}
