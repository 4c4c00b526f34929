// gRPC adapter of the reservation service: decode, call one use case, encode.
import { bindService, requireIdentity, type ServiceBinding } from '../../lib/grpc/server';
import {
  ReservationServiceService,
  ReservationStatus,
  type Reservation,
} from '../../gen/boxoffice/reservation/v1/reservation';
import type { ReservationBook, ReservationView } from './reservationBook';

export function reservationService(book: ReservationBook): ServiceBinding {
  return bindService('boxoffice.reservation.v1.ReservationService', ReservationServiceService, {
    async getReservation(req, ctx) {
      const caller = requireIdentity(ctx).userId;
      return { reservation: toProto(await book.get(caller, req.reservationId)) };
    },
    async createHold(req, ctx) {
      const { reservation } = await book.createHold(ctx.metadata, {
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
      await book.cancelHold(ctx.metadata);
      return {};
    },
    async beginPayment(req, ctx) {
      const { reservation, seatId } = await book.beginPayment(ctx.metadata, req);
      return { reservation: toProto(reservation), seatId };
    },
    async resumeHold(_req, ctx) {
      await book.resumeHold(ctx.metadata);
      return {};
    },
    async confirm(req, ctx) {
      await book.confirm(ctx.metadata, req);
      return {};
    },
    async expire(req, ctx) {
      return book.expire(ctx.metadata, req.reservationId);
    },
    async cancel(req, ctx) {
      return book.cancel(ctx.metadata, req);
    },
  });
}

function toProto(view: ReservationView): Reservation {
  return { ...view, status: ReservationStatus[view.status] };
}
