// The queue's event consumer: a completed reservation ends the payer's waiting-room token, so
// the slot goes to the next in line. Driven by the event rather than a call from the
// coordinator, it survives a queue outage or a coordinator crash right after the commit.
import type { Config } from '../../lib/config';
import type { ConsumerSpec } from '../../lib/events/consumer';
import {
  RESERVATION_COMPLETED,
  parseReservationCompleted,
} from '../../lib/events/reservationCompleted';
import type { Logger } from '../../lib/log';
import type { WaitingRoom } from './waitingRoom';

export const END_TOKEN_QUEUE = 'queue.end-token';

export function endTokenConsumer(
  room: WaitingRoom,
  events: Config['events'],
  log: Logger,
): ConsumerSpec {
  return {
    queue: END_TOKEN_QUEUE,
    events: [RESERVATION_COMPLETED],
    retryDelaysMs: events.retryDelaysMs,
    prefetch: events.prefetch,
    async handle(event) {
      const { userId, reservationId } = parseReservationCompleted(event);
      const effect = await room.endTokenForEvent(
        userId,
        event.eventId,
        new Date(event.occurredAt),
        reservationId,
      );
      log.debug({ eventId: event.eventId, userId, effect }, 'payer token handled');
    },
  };
}
