// Waiting-room tokens: 128 random bits, tagged with an HMAC of the queue secret so a forged or
// mistyped token is refused before any lookup. The tag covers only the id; the owner is kept in
// the store, so one token string works for its owner and answers USER_MISMATCH to anyone else.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DomainError, invalidArgument } from '../../../lib/errors';

const ID_BYTES = 16;
const TAG_BYTES = 16;
/** base64url of 16 bytes, unpadded: 22 characters. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Domain separation, so the tag can never be confused with another HMAC of the same secret. */
const TAG_CONTEXT = 'boxoffice.queue.token.v1:';

/**
 * How long a token is remembered after it stops being live (expired, ended, left the line), so
 * it answers QUEUE_TOKEN_EXPIRED rather than QUEUE_TOKEN_INVALID for a day.
 */
export const TOKEN_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * How long the queue remembers an event it acted on: past the retry ladder and most replays of
 * parked messages. A later replay is harmless too: only a token issued before the event can be
 * ended, and no token lives that long (QUEUE_ACTIVE_TTL_SECONDS is at most a day).
 */
export const PROCESSED_EVENT_MEMORY_MS = 7 * 24 * 60 * 60 * 1000;

export type TokenState = 'WAITING' | 'ACTIVE';

export interface MintedToken {
  /** The store key part; never leaves the service on its own. */
  id: string;
  /** What the client holds: `<id>.<tag>`. */
  token: string;
}

export function mintToken(secret: string, random: Buffer = randomBytes(ID_BYTES)): MintedToken {
  const id = random.toString('base64url');
  return { id, token: tokenFor(id, secret) };
}

/** The client-facing token of a stored id (the tag is deterministic, so it need not be stored). */
export function tokenFor(id: string, secret: string): string {
  return `${id}.${tag(id, secret)}`;
}

/**
 * The id inside a presented token. Missing → QUEUE_TOKEN_REQUIRED; wrong shape or a tag this
 * secret did not make → QUEUE_TOKEN_INVALID (the caller cannot tell which, on purpose).
 */
export function tokenIdOf(token: string | undefined, secret: string): string {
  if (token === undefined || token === '') {
    throw new DomainError(
      'QUEUE_TOKEN_REQUIRED',
      'a waiting-room token is required (X-Queue-Token)',
    );
  }
  if (!TOKEN_SHAPE.test(token)) throw invalidToken();
  const dot = token.indexOf('.');
  const id = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(tag(id, secret));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidToken();
  return id;
}

export function invalidToken(): DomainError {
  return new DomainError('QUEUE_TOKEN_INVALID', 'the waiting-room token is not valid');
}

/** What the store found for a presented token, when it is not usable as asked. */
export type TokenRefusal = 'INVALID' | 'MISMATCH' | 'EXPIRED' | 'NOT_ACTIVE';

/** Why a token ended, when it did: a payment's end names the reservation it paid. */
export interface EndedBy {
  endedBy?: string;
  reservationId?: string;
}

export function refusal(verdict: TokenRefusal, ended: EndedBy = {}): DomainError {
  switch (verdict) {
    case 'INVALID':
      return invalidToken();
    case 'MISMATCH':
      return new DomainError(
        'QUEUE_TOKEN_USER_MISMATCH',
        'the waiting-room token was issued to another user',
      );
    case 'EXPIRED':
      // Its holder may still repeat the payment that ended it, to learn its outcome.
      return ended.endedBy === 'payment' && ended.reservationId
        ? new DomainError(
            'QUEUE_TOKEN_EXPIRED',
            'the waiting-room token ended with the payment of a reservation; issue a new one',
            { endedBy: 'payment', reservationId: ended.reservationId },
          )
        : new DomainError(
            'QUEUE_TOKEN_EXPIRED',
            'the waiting-room token has expired or ended; issue a new one',
          );
    case 'NOT_ACTIVE':
      return new DomainError(
        'QUEUE_TOKEN_NOT_ACTIVE',
        'the waiting-room token is still waiting in line',
      );
  }
}

/** User ids of internal requests: the same shape the gateway accepts in a JWT `sub`. */
export function assertUserId(userId: string): void {
  if (!USER_ID.test(userId)) {
    throw invalidArgument('userId', 'userId must be 1-64 characters of A-Z, a-z, 0-9, _ and -');
  }
}

function tag(id: string, secret: string): string {
  return createHmac('sha256', secret)
    .update(TAG_CONTEXT + id)
    .digest()
    .subarray(0, TAG_BYTES)
    .toString('base64url');
}
