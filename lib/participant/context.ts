// The transaction context a coordinator sends with every branch call, as gRPC metadata.
import { Metadata } from '@grpc/grpc-js';
import type { TxMode } from '../txMode';

export interface TxContext {
  gid: string;
  /** Saga: the step's branch id. XA: the participant's branch (one per participant database). */
  branchId: string;
  mode: TxMode;
  /** Saga: whether this call is a step's action or its compensation. */
  op: 'action' | 'compensate';
  /** XA: this is the participant's last call in the transaction, so prepare after it. */
  prepare: boolean;
  /**
   * Epoch milliseconds after which the call is refused: its caller has given up by then, and
   * a participant may forget what it recorded for the transaction once every context that could
   * still arrive has expired (housekeeping.ts).
   */
  expiresAt: number;
}

/** How far the participant's clock may be behind the coordinator's before a call is refused. */
export const CLOCK_SKEW_MS = 1000;

const GID = 'x-tx-gid';
const BRANCH = 'x-tx-branch';
const MODE = 'x-tx-mode';
const OP = 'x-tx-op';
const PREPARE = 'x-tx-prepare';
const EXPIRES = 'x-tx-expires';

export function writeTxContext(ctx: TxContext, md: Metadata = new Metadata()): Metadata {
  md.set(GID, ctx.gid);
  md.set(BRANCH, ctx.branchId);
  md.set(MODE, ctx.mode);
  md.set(OP, ctx.op);
  if (ctx.prepare) md.set(PREPARE, '1');
  md.set(EXPIRES, String(ctx.expiresAt));
  return md;
}

export function readTxContext(md: Metadata): TxContext | undefined {
  const [gid] = md.get(GID);
  const [branchId] = md.get(BRANCH);
  const [mode] = md.get(MODE);
  const expiresAt = Number(md.get(EXPIRES)[0]);
  if (
    typeof gid !== 'string' ||
    typeof branchId !== 'string' ||
    (mode !== 'xa' && mode !== 'saga') ||
    !Number.isSafeInteger(expiresAt)
  )
    return undefined;
  const op = md.get(OP)[0] === 'compensate' ? 'compensate' : 'action';
  return { gid, branchId, mode, op, prepare: md.get(PREPARE)[0] === '1', expiresAt };
}

/** True when a saga coordinator sent this call as a compensation. */
export function isCompensation(md: Metadata): boolean {
  return readTxContext(md)?.op === 'compensate';
}
