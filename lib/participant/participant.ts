// One place decides how a participant's branch runs: inside an XA branch, behind the saga
// barrier, or as a plain local transaction — from the transaction context in the call's
// metadata. Every participant service runs its business SQL through here.
import type { Metadata } from '@grpc/grpc-js';
import type { Database, Sql, Statement } from '../db';
import { currentTraceparent } from '../telemetry/telemetry';
import { DomainError } from '../errors';
import { sagaAction, sagaCompensate } from './barrier';
import { readTxContext } from './context';
import { insertEvent, retractEvent, type NewEvent } from './outbox';
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
  /** The refusal to give when the rows are locked by a concurrent transaction too long. */
  contended?: () => DomainError;
}

const LOCK_WAIT_TIMEOUT = 1205;
const DEADLOCK = 1213;

export class Participant {
  constructor(
    readonly name: string,
    private readonly db: Database,
    /** Present when this process takes part in XA transactions. */
    readonly xa: XaBranches | undefined,
    /** Called once a local or saga branch committed (the outbox relay publishes sooner). */
    private readonly committed: () => void = () => undefined,
  ) {}

  private afterCommit<T>(value: T): T {
    this.committed();
    return value;
  }

  /** A forward step: XA branch, saga action (once per gid+branch) or local transaction. */
  async action<T>(
    md: Metadata,
    body: (tx: BranchTx) => Promise<T>,
    opts: ActionOptions = {},
  ): Promise<T> {
    const ctx = readTxContext(md);
    if (ctx?.op === 'compensate')
      throw new DomainError('INVALID_ARGUMENT', 'this call is an action, not a compensation');
    const run = (sql: Sql) => body(withOutbox(sql));
    try {
      if (!ctx) return this.afterCommit(await this.db.transaction(run));
      if (ctx.mode === 'saga') {
        return this.afterCommit(await sagaAction(this.db, ctx.gid, ctx.branchId, run));
      }
      if (!this.xa)
        throw new DomainError(
          'BRANCH_REFUSED',
          `${this.name} does not take part in XA transactions`,
        );
      return await this.xa.run(ctx.gid, ctx.prepare, run);
    } catch (err) {
      throw contention(err, opts);
    }
  }

  /**
   * A saga compensation: runs once, after (or instead of) its action, and never refuses. The
   * body gets what the action returned (it is not called when the action never ran), so a
   * compensation request needs no more than ids.
   */
  async compensate<R>(
    md: Metadata,
    body: (tx: BranchTx, actionResult: R) => Promise<void>,
  ): Promise<void> {
    const ctx = readTxContext(md);
    if (ctx?.mode !== 'saga' || ctx.op !== 'compensate')
      throw new DomainError('INVALID_ARGUMENT', 'a compensation needs a saga transaction context');
    await sagaCompensate<R>(this.db, ctx.gid, ctx.branchId, (sql, result) =>
      body(withOutbox(sql), result),
    );
    this.afterCommit(undefined);
  }
}

function withOutbox(sql: Sql): BranchTx {
  return {
    query: (q, p) => sql.query(q, p),
    execute: (q, p) => sql.execute(q, p),
    writeAtEnd: (q, p) => sql.writeAtEnd(q, p),
    changeAndRead: <T>(change: Statement, read: Statement) => sql.changeAndRead<T>(change, read),
    emit: async (event) => {
      // The event carries the trace of the request whose commit produces it.
      await insertEvent(sql, event, new Date(), currentTraceparent());
    },
    retract: (type, aggregateId) => retractEvent(sql, type, aggregateId, new Date()),
  };
}

function contention(err: unknown, opts: ActionOptions): unknown {
  const errno = (err as { errno?: number } | null)?.errno;
  if (errno !== LOCK_WAIT_TIMEOUT && errno !== DEADLOCK) return err;
  return opts.contended?.() ?? new DomainError('UNAVAILABLE', 'the rows are busy; try again');
}
