// Who is calling: every call inside the mesh carries its caller's identity as a short-lived
// token the caller signed with its own Ed25519 key (docs/trust.md). Only the gateway may name an
// end user in it (after verifying the user's JWT). A token is signed once and reused until near
// its end, and a verified token is remembered until it expires, so neither costs a call much.
import { sign, verify } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { IDENTITIES, type IdentityName, type MeshKeys } from './keys';

export const CALLER_METADATA = 'x-boxoffice-caller';
/** How long a caller token is valid. */
export const CALLER_TOKEN_TTL_MS = 60_000;
/** Renewed this long before it ends, so a token in flight never arrives expired. */
const RENEW_BEFORE_MS = 15_000;
/** How far another process's clock may be ahead of ours (a token's iat) or behind (its exp). */
const CLOCK_SKEW_MS = 5_000;
const MAX_REMEMBERED = 10_000;

/** An end user, as the gateway vouches for one. */
export interface EndUser {
  userId: string;
  role: 'user' | 'admin';
}

export interface Caller {
  /** The identity that signed the call. */
  service: IdentityName;
  /** The end user it acts for, only ever from the gateway. */
  user?: EndUser;
}

interface Claims {
  iss: string;
  sub?: string;
  role?: string;
  iat: number;
  exp: number;
}

/** Signs an identity's tokens (one per end user), each reused until near its end. */
export class CallerSigner {
  private readonly tokens = new Map<string, { token: string; renewAt: number }>();

  constructor(
    private readonly keys: MeshKeys,
    readonly identity: IdentityName,
    private readonly now: () => number = Date.now,
  ) {
    if (!keys.privateKey(identity)) throw new Error(`no private key to act as ${identity}`);
  }

  token(user?: EndUser): string {
    const slot = user ? `${user.role}:${user.userId}` : '';
    const now = this.now();
    const kept = this.tokens.get(slot);
    if (kept && kept.renewAt > now) return kept.token;
    if (this.tokens.size >= MAX_REMEMBERED) this.tokens.clear();
    const claims: Claims = { iss: this.identity, iat: now, exp: now + CALLER_TOKEN_TTL_MS };
    if (user) Object.assign(claims, { sub: user.userId, role: user.role });
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = sign(null, Buffer.from(body), this.keys.privateKey(this.identity)!);
    const token = `${body}.${sig.toString('base64url')}`;
    this.tokens.set(slot, { token, renewAt: claims.exp - RENEW_BEFORE_MS });
    return token;
  }
}

export type CallerCheck = { ok: true; caller: Caller } | { ok: false; why: string };

/** Checks callers' tokens against the identities' public keys; remembers the good ones. */
export class CallerVerifier {
  private readonly known = new Map<string, { caller: Caller; exp: number }>();

  constructor(
    private readonly keys: MeshKeys,
    private readonly now: () => number = Date.now,
  ) {}

  fromMetadata(md: Metadata): CallerCheck {
    const [value] = md.get(CALLER_METADATA);
    if (typeof value !== 'string' || value === '')
      return { ok: false, why: 'the call carries no caller identity' };
    return this.check(value);
  }

  check(token: string): CallerCheck {
    const now = this.now();
    const kept = this.known.get(token);
    if (kept) {
      if (kept.exp + CLOCK_SKEW_MS > now) return { ok: true, caller: kept.caller };
      this.known.delete(token);
      return { ok: false, why: 'the caller identity has expired' };
    }
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, why: 'the caller identity is malformed' };
    const body = token.slice(0, dot);
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    } catch {
      return { ok: false, why: 'the caller identity is malformed' };
    }
    const service = IDENTITIES.find((n) => n === claims.iss);
    const key = service && this.keys.publicKey(service);
    if (!key) return { ok: false, why: 'the caller identity names no known service' };
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    if (!verify(null, Buffer.from(body), key, signature))
      return { ok: false, why: 'the caller identity is not signed by its service' };
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_MS <= now)
      return { ok: false, why: 'the caller identity has expired' };
    if (typeof claims.iat !== 'number' || claims.iat - CLOCK_SKEW_MS > now)
      return { ok: false, why: 'the caller identity is from the future' };
    const caller = callerOf(service, claims);
    if (!caller) return { ok: false, why: 'the caller identity names a user it may not' };
    if (this.known.size >= MAX_REMEMBERED) this.known.clear();
    this.known.set(token, { caller, exp: claims.exp });
    return { ok: true, caller };
  }
}

/** Only the gateway vouches for end users; a user id is what a JWT subject may be. */
function callerOf(service: IdentityName, claims: Claims): Caller | undefined {
  if (claims.sub === undefined) return { service };
  if (service !== 'gateway' || !/^[A-Za-z0-9_-]{1,64}$/.test(claims.sub)) return undefined;
  return {
    service,
    user: { userId: claims.sub, role: claims.role === 'admin' ? 'admin' : 'user' },
  };
}
