// gRPC adapter of the concert service: decode, call one use case, encode.
import { bindService, requireUser, type ServiceBinding } from '../../lib/grpc/server';
import { ConcertServiceService, SeatStatus } from '../../gen/boxoffice/concert/v1/concert';
import type { Booking } from './booking';
import type { Catalog } from './catalog';

export function concertService(catalog: Catalog, booking: Booking): ServiceBinding {
  return bindService('boxoffice.concert.v1.ConcertService', ConcertServiceService, {
    async createConcert(req, ctx) {
      return catalog.createConcert(requireUser(ctx).role, {
        title: req.title,
        dates: req.dates,
        seatsPerDate: req.seatsPerDate,
        price: req.price,
        bookingOpensAt: req.bookingOpensAt,
      });
    },
    async listConcerts() {
      const concerts = await catalog.listConcerts();
      return { concerts: concerts.map((c) => ({ concertId: c.id, title: c.title })) };
    },
    async getRanking(req) {
      return { rankings: await catalog.ranking(req.limit) };
    },
    // Seat availability is for signed-in users (access: USER_REQUIRED; the gateway also checks
    // their queue token).
    async listDates(req) {
      return { dates: await catalog.listDates(req.concertId) };
    },
    async listSeats(req) {
      const listing = await catalog.listSeats(req.concertId, req.date);
      return {
        scheduleId: listing.scheduleId,
        seats: listing.seats.map((s) => ({ ...s, status: SeatStatus[s.status] })),
      };
    },
    // Operators (access: ADMIN_REQUIRED from the gateway, or the operator identity).
    async getSeatMap(req) {
      const map = await catalog.operatorSeatMap(req.concertId, req.date);
      return {
        ...map,
        seats: map.seats.map((s) => ({
          seatNumber: s.seatNumber,
          price: s.price,
          status: SeatStatus[s.status],
          reservationId: s.reservationId ?? '',
        })),
      };
    },
    // Called by the coordinator before Reserve begins: no transaction, nothing written.
    async checkHold(req) {
      await booking.checkHold(req);
      return {};
    },
    // Transaction branches: called by the coordinator, with the transaction in the metadata.
    async holdSeat(req, ctx) {
      const held = await booking.hold(ctx.tx, req);
      return { seatId: held.seatId, scheduleId: held.scheduleId, price: held.price };
    },
    async unholdSeat(_req, ctx) {
      await booking.unhold(ctx.tx);
      return {};
    },
    async releaseSeat(req, ctx) {
      await booking.release(ctx.tx, req.seatId, req.reservationId);
      return {};
    },
    async sellSeat(req, ctx) {
      await booking.sell(ctx.tx, req.seatId, req.reservationId);
      return {};
    },
    async unsellSeat(_req, ctx) {
      await booking.unsell(ctx.tx);
      return {};
    },
  });
}
