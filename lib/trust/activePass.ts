// The queue's word that a waiting-room token is ACTIVE for a user until a time, signed with the
// queue's own key: the gateway checks it with the queue's public key and keeps it, so a booking
// route needs no call to the queue while the pass lasts (docs/architecture.md, the gateway). The
// queue hands one out with every answer that shows a token ACTIVE (issue, status) and with
// ValidateToken. A pass names the token by its id and its hash, never the token itself.
import { createHash, sign, verify, type KeyObject } from 'node:crypto';

export interface ActivePass {
  /** The token's id: the part before its dot, which names it in the ended-token feed. */
  tokenId: string;
  /** sha256 of the whole token, base64url: only the token itself matches it. */
  tokenHash: string;
  userId: string;
  /** Epoch milliseconds: the token's end of life. */
  expiresAt: number;
  /** Epoch milliseconds: when the queue signed it (the token was ACTIVE then). */
  issuedAt: number;
}

/** Where the queue hands the gateway a pass with an answer that shows a token ACTIVE. */
export const ACTIVE_PASS_HEADER = 'x-active-pass';

/** The id part of a waiting-room token (before its dot), as the ended-token feed names it. */
export function tokenIdOf(token: string): string {
  const dot = token.indexOf('.');
  return dot < 0 ? token : token.slice(0, dot);
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function signPass(
  key: KeyObject,
  token: string,
  userId: string,
  expiresAt: number,
  issuedAt = Date.now(),
): string {
  const tokenId = tokenIdOf(token);
  const body = Buffer.from(
    JSON.stringify({
      tid: tokenId,
      th: tokenHash(token),
      sub: userId,
      exp: expiresAt,
      iat: issuedAt,
    }),
  ).toString('base64url');
  return `${body}.${sign(null, Buffer.from(body), key).toString('base64url')}`;
}

/** The pass, if the key signed it; undefined for anything else. */
export function readPass(pass: string, key: KeyObject): ActivePass | undefined {
  const dot = pass.indexOf('.');
  if (dot <= 0) return undefined;
  const body = pass.slice(0, dot);
  if (!verify(null, Buffer.from(body), key, Buffer.from(pass.slice(dot + 1), 'base64url')))
    return undefined;
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (
      typeof c.tid !== 'string' ||
      c.tid === '' ||
      typeof c.th !== 'string' ||
      typeof c.sub !== 'string' ||
      typeof c.exp !== 'number' ||
      typeof c.iat !== 'number'
    )
      return undefined;
    return { tokenId: c.tid, tokenHash: c.th, userId: c.sub, expiresAt: c.exp, issuedAt: c.iat };
  } catch {
    return undefined;
  }
}

/**
 * The Redis channel, under the key prefix, on which the queue announces every token it ends
 * before its time, so that no gateway goes on trusting a pass of it.
 */
export const ENDED_TOKENS_CHANNEL = 'queue:ended';

/** An announcement on the channel: the ended token's id (the part before its dot). */
export function endedTokenId(message: string): string | undefined {
  try {
    const m = JSON.parse(message) as unknown;
    const id = typeof m === 'object' && m !== null ? (m as { id?: unknown }).id : undefined;
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}
