// Ships each ReservationCompleted event to the data platform, at least once and, as far as
// this side can tell, once: the POST runs inside the transaction that records the event as
// processed, so a concurrent redelivery of the same event waits on that record and then skips,
// and a failed POST rolls the record back and throws for the consumer's retry ladder.
import type { Database } from '../../lib/db';
import type { EventEnvelope } from '../../lib/events/envelope';
import { processOnce } from '../../lib/events/processed';
import type { Logger } from '../../lib/log';
import { recordAttempt } from './data/deliveries';
import { DataPlatformClient } from './platform';
import {
  classifyError,
  classifyStatus,
  deliveryBody,
  type Attempt,
  type DeliveryBody,
} from './domain/delivery';

export interface DelivererOptions {
  /** DATAPLATFORM_URL. */
  url: string;
  timeoutMs: number;
  /** The consumer name in processed_event (the queue name). */
  consumer: string;
}

/** A non-2xx answer or no answer: the message's error is what the parked queue shows. */
export class DeliveryFailedError extends Error {
  override name = 'DeliveryFailedError';
}

export class Deliverer {
  private readonly platform: DataPlatformClient;

  constructor(
    private readonly db: Database,
    private readonly opts: DelivererOptions,
    private readonly log: Logger,
  ) {
    this.platform = new DataPlatformClient(opts.url, opts.timeoutMs);
  }

  /** Closes the connections to the data platform; after the consumer stopped. */
  close(): void {
    this.platform.close();
  }

  /** The consumer's handler: resolves once delivered (or delivered before), throws to retry. */
  async handle(event: EventEnvelope): Promise<void> {
    const body = deliveryBody(event); // an invalid event throws and ends up parked
    let failed: Attempt | undefined;
    let fresh: boolean;
    try {
      fresh = await processOnce(this.db, this.opts.consumer, body.eventId, async (tx) => {
        const attempt = await this.post(body);
        if (!attempt.delivered) {
          failed = attempt;
          throw new DeliveryFailedError(attempt.error);
        }
        await recordAttempt(tx, body.eventId, body.reservationId, attempt, new Date());
      });
    } catch (err) {
      // Outside the rolled-back transaction, so the failed attempt stays in the log.
      if (failed) await this.logFailure(body, failed);
      throw err;
    }
    if (fresh) this.log.debug({ eventId: body.eventId }, 'delivered to the data platform');
    else this.log.debug({ eventId: body.eventId }, 'already delivered; skipped');
  }

  private async post(body: DeliveryBody): Promise<Attempt> {
    try {
      return classifyStatus(await this.platform.post(body));
    } catch (err) {
      return classifyError(err, this.opts.timeoutMs);
    }
  }

  private async logFailure(body: DeliveryBody, attempt: Attempt): Promise<void> {
    try {
      await recordAttempt(this.db, body.eventId, body.reservationId, attempt, new Date());
    } catch (err) {
      // The log is for operators; the retry must not depend on it.
      this.log.warn({ err, eventId: body.eventId }, 'could not log a failed delivery');
    }
  }
}
