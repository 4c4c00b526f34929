// Global transactions from the participant's side, for tests that call its branches as the
// coordinator would: the transaction context of a saga step or an XA branch, XA branches of a
// test database, and what a branch left behind (prepared branches, outbox events).
import type { DbConfig } from '../../lib/config';
import type { AsyncClient } from '../../lib/grpc/client';
import type { Trust } from '../../lib/trust/trust';
import type { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { asCoordinator } from './identity';
import type { Database } from '../../lib/db';
import { createLogger } from '../../lib/log';
import type { TxContext } from '../../lib/participant/context';
import { XaBranches, createXaPool } from '../../lib/participant/xa';
import { preparedBranch, type XaRecoverRow } from '../../ops/isolation';

/** A saga step's action, or its compensation. */
export function sagaContext(
  gid: string,
  branchId: string,
  op: TxContext['op'] = 'action',
): TxContext {
  return { gid, branchId, mode: 'saga', op, prepare: false, expiresAt: live() };
}

/** A call in an XA branch; prepare: the participant's last call, so the branch prepares. */
export function xaContext(gid: string, branchId: string, prepare: boolean): TxContext {
  return { gid, branchId, mode: 'xa', op: 'action', prepare, expiresAt: live() };
}

/** Phase 2 of an XA branch, as the coordinator sends it. */
export function phaseTwoContext(
  gid: string,
  branchId: string,
  op: 'commit' | 'rollback',
): TxContext {
  return { gid, branchId, mode: 'xa', op, prepare: false, expiresAt: live() };
}

/** The phase-2 RPCs every participant serves (ParticipantService), as a test's client has them. */
export type PhaseTwoClient = Pick<
  AsyncClient<typeof ParticipantServiceService>,
  'commit' | 'rollback'
>;

/** Phase 2 of the participant's branch of gid, sent as the coordinator sends it. */
export function phaseTwo(
  client: PhaseTwoClient,
  trust: Trust,
  gid: string,
  branchId: string,
  op: 'commit' | 'rollback',
): Promise<unknown> {
  return client[op]({ gid, branchId }, asCoordinator(trust, phaseTwoContext(gid, branchId, op)));
}

/** A call's context expiry, a branch deadline from now as the coordinator sets it. */
function live(): number {
  return Date.now() + 3000;
}

export interface TestXaBranches {
  xa: XaBranches;
  /** Ends the branches, then their pool. */
  close(): Promise<void>;
}

/** XA branches of a test database, as the participant runtime sets them up. */
export function testXaBranches(db: DbConfig): TestXaBranches {
  const log = createLogger('silent');
  // A branch waiting on a locked row gives up after a second, as with the default settings.
  const pool = createXaPool({ ...db, poolSize: 5 }, 1, log);
  const xa = new XaBranches(
    pool,
    { bqual: db.database, activeTimeoutMs: 30_000, holdTimeoutMs: 30_000 },
    log,
  );
  return {
    xa,
    async close() {
      await xa.close();
      await pool.end();
    },
  };
}

/** Gids of the XA branches still prepared in this database (their bqual is its name). */
export async function preparedGids(db: Database, database: string): Promise<string[]> {
  const rows = await db.query<XaRecoverRow>('XA RECOVER');
  return rows
    .map(preparedBranch)
    .filter((b) => b.bqual === database)
    .map((b) => b.gid);
}

export interface OutboxEvent {
  type: string;
  version: number;
  payload: Record<string, unknown>;
}

/** The events of one aggregate in a participant's outbox, oldest first. */
export async function outboxEvents(db: Database, aggregateId: string): Promise<OutboxEvent[]> {
  const rows = await db.query<{ type: string; version: number; payload: unknown }>(
    'SELECT type, version, payload FROM outbox WHERE aggregate_id = ? ORDER BY id',
    [aggregateId],
  );
  // mysql2 hands JSON columns back parsed on some servers, as text on others.
  return rows.map((r) => ({
    type: r.type,
    version: r.version,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<
      string,
      unknown
    >,
  }));
}
