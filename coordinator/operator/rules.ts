// The operator's view of the log, as pure rules: the state an operator sees (STUCK for a parked
// transaction), which transactions are in doubt, the filters of a listing and its page tokens.
import type { ListTransactionsRequest } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { invalidArgument } from '../../lib/errors';
import { TX_MODES, type TxMode } from '../../lib/txMode';
import { OPEN_STATES, TERMINAL_STATES, type TxState } from '../engine/log';
import { listLimit } from '../requests';

/** What an operator sees a transaction as: its state, or STUCK while parked. */
export type ShownState = TxState | 'STUCK';
/** What a listing may filter on: a shown state, or IN_DOUBT. */
export type StateFilter = ShownState | 'IN_DOUBT';

export const SHOWN_STATES: readonly ShownState[] = [...OPEN_STATES, 'STUCK', ...TERMINAL_STATES];
export const FLOWS = ['reserve', 'pay', 'refund', 'expire'] as const;

export interface Parkable {
  state: TxState;
  parkedAt: Date | null;
}

export function shownState(t: Parkable): ShownState {
  return t.parkedAt && OPEN_STATES.includes(t.state) ? 'STUCK' : t.state;
}

export function isOpen(state: TxState): boolean {
  return OPEN_STATES.includes(state);
}

/**
 * In doubt: an XA transaction still RUNNING past its deadline, with no decision logged. Its
 * prepared branches wait for presumed abort, which DecideOutcome's rule allows from now on.
 */
export function inDoubt(t: { mode: TxMode; state: TxState; deadlineAt: Date }, now: Date): boolean {
  return t.mode === 'xa' && t.state === 'RUNNING' && t.deadlineAt <= now;
}

/** A listing's filters, checked. */
export interface TxFilter {
  state?: StateFilter;
  flow?: string;
  mode?: TxMode;
  /** Begun at or before this instant (the minimum age)... */
  createdUpTo?: Date;
  /** ...and at or after this one (the maximum age). */
  createdFrom?: Date;
  userId?: string;
  reservationId?: string;
  paymentId?: string;
}

/** Where the next page starts: after this row, newest first. */
export interface PageCursor {
  createdAt: Date;
  gid: string;
}

export interface TxQuery {
  filter: TxFilter;
  limit: number;
  after: PageCursor | undefined;
}

/** A listing request as it arrives, its state by name (empty or 0 for "not given"). */
export type TxQueryInput = Omit<ListTransactionsRequest, 'state'> & { state: string };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_AGE_SECONDS = 10 * 365 * 86_400;

/** Checks a listing request field by field (INVALID_ARGUMENT naming the field). */
export function parseTxQuery(input: TxQueryInput, now: Date): TxQuery {
  const filter: TxFilter = {};
  if (input.state !== '') {
    if (!([...SHOWN_STATES, 'IN_DOUBT'] as string[]).includes(input.state))
      throw invalidArgument('state', `state must be one of ${SHOWN_STATES.join(', ')}, IN_DOUBT`);
    filter.state = input.state as StateFilter;
  }
  if (input.flow !== '') {
    if (!(FLOWS as readonly string[]).includes(input.flow))
      throw invalidArgument('flow', `flow must be one of ${FLOWS.join(', ')}`);
    filter.flow = input.flow;
  }
  if (input.mode !== '') {
    if (!(TX_MODES as readonly string[]).includes(input.mode))
      throw invalidArgument('mode', `mode must be one of ${TX_MODES.join(', ')}`);
    filter.mode = input.mode as TxMode;
  }
  const min = ageSeconds('minAgeSeconds', input.minAgeSeconds);
  const max = ageSeconds('maxAgeSeconds', input.maxAgeSeconds);
  if (min > 0 && max > 0 && min > max)
    throw invalidArgument('maxAgeSeconds', 'maxAgeSeconds must not be below minAgeSeconds');
  if (min > 0) filter.createdUpTo = new Date(now.getTime() - min * 1000);
  if (max > 0) filter.createdFrom = new Date(now.getTime() - max * 1000);
  for (const field of ['userId', 'reservationId', 'paymentId'] as const) {
    const value = input[field];
    if (value === '') continue;
    if (!ID.test(value))
      throw invalidArgument(field, `${field} must be 1-64 characters of A-Z a-z 0-9 _ -`);
    filter[field] = value;
  }
  return {
    filter,
    limit: listLimit(input.limit),
    after: input.pageToken === '' ? undefined : readPageToken(input.pageToken),
  };
}

function ageSeconds(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_AGE_SECONDS)
    throw invalidArgument(field, `${field} must be 0-${MAX_AGE_SECONDS}`);
  return value;
}

/** The token of the page after `last`: opaque to clients (base64url of the cursor). */
export function pageToken(last: PageCursor): string {
  return Buffer.from(`${last.createdAt.toISOString()} ${last.gid}`).toString('base64url');
}

function readPageToken(token: string): PageCursor {
  const bad = () => invalidArgument('pageToken', 'pageToken is not one this listing gave');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) throw bad();
  const [at, gid, ...rest] = Buffer.from(token, 'base64url').toString('utf8').split(' ');
  const createdAt = new Date(at);
  if (rest.length > 0 || !gid || !ID.test(gid) || Number.isNaN(createdAt.getTime())) throw bad();
  return { createdAt, gid };
}

/**
 * The state an action names as the one the operator saw: an open state, STUCK or an ended one
 * (which gets TRANSACTION_ENDED rather than a silent success).
 */
export function expectedState(value: string): ShownState {
  if (!(SHOWN_STATES as readonly string[]).includes(value))
    throw invalidArgument(
      'expectedState',
      `expectedState must be the state the transaction was seen in: ${SHOWN_STATES.join(', ')}`,
    );
  return value as ShownState;
}
