// The ops service's use cases: the consumers' parked events (list, replay, drop) and the
// invariants across every database (the auditor), for operators. Every action on parked events,
// done or refused, goes into the coordinator's audit trail of operator actions.
import { DomainError, invalidArgument } from '../../lib/errors';
import { dropParked, listParked, parkedCount, replayParked } from '../../lib/events/dlq';
import type { Broker } from '../../lib/events/broker';
import type { Logger } from '../../lib/log';
import { SharedCalls } from '../../lib/sharedCalls';
import type { Check } from '../../ops/audit';

export interface ParkedQueueView {
  queue: string;
  count: number;
  events: { eventId: string; type: string; attempts: number; lastError: string; payload: string }[];
}

export interface AuditRun {
  ok: boolean;
  checks: Check[];
  checkedAt: Date;
  tookMs: number;
}

/** An operator action as the audit trail keeps it. */
export interface RecordedAction {
  actor: string;
  action: 'replay' | 'drop';
  target: string;
  result: 'DONE' | 'REFUSED';
  detail: string;
}

export interface OperationsDeps {
  broker: Broker;
  /** Every consumer queue of the mesh. */
  queues: readonly string[];
  /** Writes an action into the audit trail (the coordinator's). */
  record(action: RecordedAction): Promise<void>;
  /** One run of the auditor over the live mesh. */
  audit(): Promise<Check[]>;
  log: Logger;
}

const MAX_IDS = 100;
const EVENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export class Operations {
  /** Operators pressing "run" together share one run: it reads every database. */
  private readonly audits = new SharedCalls<AuditRun>();

  constructor(private readonly deps: OperationsDeps) {}

  /** Every consumer queue with its parked events (the first `limit`), in the order they wait. */
  async parked(limit: number): Promise<ParkedQueueView[]> {
    if (!Number.isInteger(limit) || limit < 0 || limit > 500)
      throw invalidArgument('limit', 'limit must be 1-500');
    const shown = limit || 100;
    return Promise.all(
      this.deps.queues.map(async (queue) => {
        const count = await this.count(queue);
        const events = count === 0 ? [] : await listParked(this.deps.broker, queue, shown);
        return {
          queue,
          count,
          events: events.map(({ body, ...e }) => ({ ...e, payload: body })),
        };
      }),
    );
  }

  replay(actor: string, queue: string, eventIds: string[]): Promise<TakeResult> {
    return this.take('replay', actor, queue, eventIds, (ids) =>
      replayParked(this.deps.broker, queue, ids),
    );
  }

  drop(actor: string, queue: string, eventIds: string[]): Promise<TakeResult> {
    return this.take('drop', actor, queue, eventIds, (ids) =>
      dropParked(this.deps.broker, queue, ids),
    );
  }

  audit(): Promise<AuditRun> {
    return this.audits.share('audit', async () => {
      const checkedAt = new Date();
      const checks = await this.deps.audit();
      return {
        ok: checks.every((c) => c.ok),
        checks,
        checkedAt,
        tookMs: Date.now() - checkedAt.getTime(),
      };
    });
  }

  /** Parked messages of a queue; a queue its consumer never declared holds none. */
  private async count(queue: string): Promise<number> {
    try {
      return await parkedCount(this.deps.broker, queue);
    } catch (err) {
      if (/NOT_FOUND|404/.test(err instanceof Error ? err.message : String(err))) return 0;
      throw err;
    }
  }

  private async take(
    action: RecordedAction['action'],
    actor: string,
    queue: string,
    eventIds: string[],
    takeThem: (ids: Set<string>) => Promise<number>,
  ): Promise<TakeResult> {
    this.assertQueue(queue);
    const wanted = assertEventIds(eventIds);
    // Listed first only to name those not parked; the take moves what it finds.
    const parked = new Set(
      (await listParked(this.deps.broker, queue))
        .map((m) => m.eventId)
        .filter((id) => wanted.has(id)),
    );
    const taken = parked.size === 0 ? 0 : await takeThem(parked);
    const notParked = [...wanted].filter((id) => !parked.has(id));
    const ids = [...wanted].join(', ');
    if (taken === 0) {
      const err = new DomainError(
        'PARKED_EVENT_NOT_FOUND',
        `not parked in ${queue} (any more): ${ids}`,
        { queue },
      );
      await this.remember(actor, action, queue, 'REFUSED', err.message);
      throw err;
    }
    await this.remember(
      actor,
      action,
      queue,
      'DONE',
      `${action === 'replay' ? 'replayed' : 'dropped'} ${taken} of ${ids}`,
    );
    return { taken, notParked };
  }

  /** Into the audit trail; should the coordinator not answer, into the log at least. */
  private async remember(
    actor: string,
    action: RecordedAction['action'],
    target: string,
    result: RecordedAction['result'],
    detail: string,
  ): Promise<void> {
    const record: RecordedAction = { actor, action, target, result, detail: detail.slice(0, 512) };
    try {
      await this.deps.record(record);
    } catch (err) {
      this.deps.log.error(
        { err, operatorAction: record },
        'operator action not in the audit trail',
      );
    }
  }

  private assertQueue(queue: string): void {
    if (!this.deps.queues.includes(queue))
      throw invalidArgument('queue', `queue must be one of ${this.deps.queues.join(', ')}`);
  }
}

export interface TakeResult {
  taken: number;
  notParked: string[];
}

function assertEventIds(ids: string[]): Set<string> {
  if (ids.length === 0 || ids.length > MAX_IDS)
    throw invalidArgument('eventIds', `eventIds must hold 1-${MAX_IDS} event ids`);
  for (const id of ids)
    if (!EVENT_ID.test(id)) throw invalidArgument('eventIds', `"${id}" is not an event id`);
  return new Set(ids);
}
