// One place decides how a participant's branch runs: inside an XA branch, behind the saga
// barrier, or as a plain local transaction — from the call's transaction context, which its
// server has checked (signed by the coordinator, not expired; lib/grpc/access.ts). Every
// participant service runs its business SQL through here.
import type { Database, Sql, Statement } from '../db';
import { DomainError } from '../errors';
import { failpoint } from '../failpoints';
import { currentTraceparent } from '../telemetry/telemetry';
import { sagaAction, sagaCompensate } from './barrier';
import type { TxContext } from './context';
import { insertEvent, retractEvent, type EventOrigin, type NewEvent } from './outbox';
import type { XaBranches } from './xa';

/** What a branch body works with: SQL inside the branch's transaction, and its outbox. */
export interface BranchTx extends Sql {
  emit(event: NewEvent): Promise<void>;
  /**
   * Withdraws the aggregate's event of this type (a compensation undoing the change that
   * caused it): deleted while unsent, else followed by a `<type>Retracted` event.
   */
  retract(type: string, aggregateId: string): Promise<void>;
}

export interface ActionOptions {
  /**
   * After a lock wait timeout or a deadlock, the refusal the rows prove as they now stand
   * (read outside the failed transaction), or undefined when they prove none: the caller then
   * gets UNAVAILABLE and may retry. Never a guess about what the lock holder will do.
   */
  explainContention?: (reads: Sql) => Promise<DomainError | undefined>;
}

const LOCK_WAIT_TIMEOUT = 1205;
const DEADLOCK = 1213;

export class Participant {
  constructor(
    readonly name: string,
    private readonly db: Database,
    /** Present when this process takes part in XA transactions. */
    readonly xa: XaBranches | undefined,
    /**
     * Called once a local transaction committed an event (the relay publishes it sooner). A
     * saga branch's events wait for the end of their transaction and are the housekeeping's to
     * release, an XA branch's for phase 2: waking the relay for them only made it look and find
     * nothing, two round trips each (docs/performance.md).
     */
    private readonly published: () => void = () => undefined,
  ) {}

  /**
   * A forward step: XA branch, saga action (once per gid+branch), or — with no context — a
   * local transaction (the participant's own use cases, such as a charge).
   */
  async action<T>(
    ctx: TxContext | undefined,
    body: (tx: BranchTx) => Promise<T>,
    opts: ActionOptions = {},
  ): Promise<T> {
    if (ctx && ctx.op !== 'action')
      throw new DomainError('INVALID_ARGUMENT', `this call is an action, not a ${ctx.op}`);
    const events: Emitted = { any: false };
    const run = async (sql: Sql) => {
      const out = await body(withOutbox(sql, ctx, events));
      // Inside the branch's transaction, its locks held: where tests hold a branch up.
      await failpoint(`participant.${this.name}.after-body`);
      return out;
    };
    try {
      if (!ctx) {
        const out = await this.db.transaction(run);
        if (events.any) this.published();
        return out;
      }
      if (ctx.mode === 'saga') return await sagaAction(this.db, ctx.gid, ctx.branchId, run);
      if (!this.xa)
        throw new DomainError(
          'BRANCH_REFUSED',
          `${this.name} does not take part in XA transactions`,
        );
      return await this.xa.run(ctx.gid, ctx.prepare, run);
    } catch (err) {
      if (!isLockError(err)) throw err;
      throw (await this.explain(opts)) ?? busy(err);
    }
  }

  /**
   * A saga compensation: runs once, after (or instead of) its action, and never refuses. The
   * body gets what the action returned (it is not called when the action never ran), so a
   * compensation request needs no more than ids.
   */
  async compensate<R>(
    ctx: TxContext | undefined,
    body: (tx: BranchTx, actionResult: R) => Promise<void>,
  ): Promise<void> {
    if (ctx?.mode !== 'saga' || ctx.op !== 'compensate')
      throw new DomainError('INVALID_ARGUMENT', 'a compensation needs a saga transaction context');
    try {
      await sagaCompensate<R>(this.db, ctx.gid, ctx.branchId, async (sql, result) => {
        // Its events are held like its action's: nothing to wake the relay for.
        await body(withOutbox(sql, ctx, { any: false }), result);
        // Inside the compensation's transaction: where tests make a compensation fail.
        await failpoint(`participant.${this.name}.after-compensate`);
      });
    } catch (err) {
      throw isLockError(err) ? busy(err) : err;
    }
  }

  private async explain(opts: ActionOptions): Promise<DomainError | undefined> {
    try {
      return await opts.explainContention?.(this.db);
    } catch (err) {
      // A read that refuses (say, the seat does not exist) is an answer too.
      return err instanceof DomainError ? err : undefined;
    }
  }
}

/** Whether a transaction wrote an event (or a retraction). */
interface Emitted {
  any: boolean;
}

function withOutbox(sql: Sql, ctx: TxContext | undefined, events: Emitted): BranchTx {
  // XA rows commit with the decision; a saga branch's wait for the end of its transaction.
  const holdFor = ctx?.mode === 'saga' ? ctx.gid : undefined;
  const origin = (): EventOrigin => {
    events.any = true;
    return { traceContext: currentTraceparent(), holdFor };
  };
  return {
    query: (q, p) => sql.query(q, p),
    execute: (q, p) => sql.execute(q, p),
    writeAtEnd: (q, p) => sql.writeAtEnd(q, p),
    changeAndRead: <T>(change: Statement, read: Statement) => sql.changeAndRead<T>(change, read),
    emit: async (event) => {
      await insertEvent(sql, event, new Date(), origin());
    },
    retract: (type, aggregateId) => retractEvent(sql, type, aggregateId, new Date(), origin()),
  };
}

function isLockError(err: unknown): boolean {
  const errno = (err as { errno?: number } | null)?.errno;
  return errno === LOCK_WAIT_TIMEOUT || errno === DEADLOCK;
}

function busy(err: unknown): DomainError {
  const what = (err as { errno?: number }).errno === DEADLOCK ? 'a deadlock' : 'a lock wait';
  return new DomainError('UNAVAILABLE', `the rows are busy (${what}); try again`);
}
