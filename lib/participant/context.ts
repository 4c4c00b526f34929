// The transaction context a coordinator sends with every branch and phase-2 call: which global
// transaction and branch, in which mode, what the call does, and until when it may run. It is
// signed with the key only the coordinator and its participants hold (docs/trust.md), so no one
// else can make a participant run a branch; a server checks it before the handler runs.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { TxMode } from '../txMode';

/** What a call does to its branch: a saga step's action or compensation, or XA phase 2. */
export type TxOp = 'action' | 'compensate' | 'commit' | 'rollback';

export interface TxContext {
  gid: string;
  /** Saga: the step's branch id. XA: the participant's branch (one per participant database). */
  branchId: string;
  mode: TxMode;
  op: TxOp;
  /** XA: this is the participant's last call in the transaction, so prepare after it. */
  prepare: boolean;
  /**
   * Epoch milliseconds after which the call is refused: its caller has given up by then, and
   * a participant may forget what it recorded for the transaction once every context that could
   * still arrive has expired (housekeeping.ts).
   */
  expiresAt: number;
}

export const TX_METADATA = 'x-tx';

/** How far the participant's clock may be behind the coordinator's before a call is refused. */
export const CLOCK_SKEW_MS = 1000;

interface Wire {
  g: string;
  b: string;
  m: TxMode;
  o: TxOp;
  p?: 1;
  e: number;
}

export function writeTxContext(
  ctx: TxContext,
  key: Buffer,
  md: Metadata = new Metadata(),
): Metadata {
  const wire: Wire = { g: ctx.gid, b: ctx.branchId, m: ctx.mode, o: ctx.op, e: ctx.expiresAt };
  if (ctx.prepare) wire.p = 1;
  const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
  md.set(TX_METADATA, `${body}.${mac(body, key)}`);
  return md;
}

export type TxContextCheck = { ok: true; ctx: TxContext } | { ok: false; why: string };

/** The call's context, checked; undefined when the call carries none. */
export function readTxContext(
  md: Metadata,
  key: Buffer | undefined,
  now = Date.now(),
): TxContextCheck | undefined {
  const [value] = md.get(TX_METADATA);
  if (value === undefined) return undefined;
  if (!key) return { ok: false, why: 'this service takes part in no global transaction' };
  const dot = typeof value === 'string' ? value.indexOf('.') : -1;
  if (typeof value !== 'string' || dot <= 0)
    return { ok: false, why: 'the transaction context is malformed' };
  const body = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(mac(body, key));
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, why: 'the transaction context is not signed by the coordinator' };
  let w: Wire;
  try {
    w = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Wire;
  } catch {
    return { ok: false, why: 'the transaction context is malformed' };
  }
  if (now > w.e + CLOCK_SKEW_MS)
    return {
      ok: false,
      why: `the transaction context of ${w.g} expired at ${new Date(w.e).toISOString()}`,
    };
  return {
    ok: true,
    ctx: { gid: w.g, branchId: w.b, mode: w.m, op: w.o, prepare: w.p === 1, expiresAt: w.e },
  };
}

function mac(body: string, key: Buffer): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}
