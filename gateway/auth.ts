// Who is calling: the access token (HS256 JWT) checked strictly, then the route's audience.
// Only HS256 with our secret is accepted — never `alg: none`, never another algorithm (which
// would let a forged header pick how the signature is checked).
import { webcrypto } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { status as Status } from '@grpc/grpc-js';
import { setBounded } from '../lib/bounded';
import type { EndUser } from '../lib/trust/caller';
import { ApiError, unauthenticated } from './errors';
import type { Policy } from './routes';

export const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ALGORITHM = 'HS256';
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Tokens remembered as verified; a client sends the same one until it expires. */
const VERIFIED_CAPACITY = 10_000;

export class JwtVerifier {
  /** Imported once: given raw bytes, jose imports the key again on every verification. */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /**
   * Tokens that passed, with their expiry. Only the exact string that passed is let through
   * again, and only until its `exp`, the one claim whose verdict changes with time.
   */
  private readonly verified = new Map<string, { caller: EndUser; expiresAtMs: number }>();

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
  }

  /** The caller named by an `Authorization: Bearer` header, or a 401. */
  async fromHeader(authorization: string | undefined): Promise<EndUser> {
    if (authorization === undefined || authorization.trim() === '') {
      throw unauthenticated(
        'UNAUTHENTICATED',
        'an access token is required (Authorization: Bearer <JWT>)',
      );
    }
    const m = BEARER.exec(authorization);
    if (!m)
      throw unauthenticated(
        'UNAUTHENTICATED',
        'the Authorization header must be "Bearer <JWT>"',
        true,
      );
    return this.verify(m[1]);
  }

  async verify(token: string): Promise<EndUser> {
    const known = this.verified.get(token);
    const nowMs = this.now();
    if (known && nowMs < known.expiresAtMs) return known.caller;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.key, {
        algorithms: [ALGORITHM],
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(nowMs),
      }));
    } catch (err) {
      throw unauthenticated('UNAUTHENTICATED', joseMessage(err), true);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || !USER_ID.test(sub)) {
      throw unauthenticated(
        'UNAUTHENTICATED',
        'the access token subject must be 1-64 characters of A-Z, a-z, 0-9, _ and -',
        true,
      );
    }
    const caller: EndUser = { userId: sub, role: payload.role === 'admin' ? 'admin' : 'user' };
    // jose checked exp: a number, and in the future.
    const expiresAtMs = (payload.exp as number) * 1000;
    setBounded(this.verified, VERIFIED_CAPACITY, token, { caller, expiresAtMs });
    return caller;
  }
}

/** A short, safe reason for a refused token (jose's own messages are not part of our API). */
function joseMessage(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the access token has expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the access token signature is invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return `the access token must be signed with ${ALGORITHM}`;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return 'the access token needs a valid "sub" and a future "exp"';
    default:
      return 'the access token is malformed';
  }
}

/** ADMIN routes need role admin; the caller is known to be authenticated here. */
export function authorize(policy: Policy, caller: EndUser): void {
  if (policy.audience === 'ADMIN' && caller.role !== 'admin') {
    throw new ApiError(
      Status.PERMISSION_DENIED,
      'ADMIN_ONLY',
      'this operation needs an administrator',
    );
  }
}

export interface TokenClaims {
  userId: string;
  admin?: boolean;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  /** Issue time in seconds since the epoch; now by default. */
  nowSeconds?: number;
}

/** An access token as the gateway accepts it (dev tooling and tests). */
export async function signAccessToken(secret: string, claims: TokenClaims): Promise<string> {
  if (!USER_ID.test(claims.userId))
    throw new Error('user id must be 1-64 characters of A-Z, a-z, 0-9, _ and -');
  const now = claims.nowSeconds ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims.admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + claims.ttlSeconds);
  return jwt.sign(new TextEncoder().encode(secret));
}
