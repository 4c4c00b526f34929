// Development JWTs for tests, signed like `npm run token` does.
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '../../lib/config';

export async function jwtFor(userId: string, opts: { admin?: boolean; ttlSeconds?: number; secret?: string } = {}): Promise<string> {
  const claims: Record<string, unknown> = opts.admin ? { role: 'admin' } : {};
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(opts.secret ?? DEV_JWT_SECRET));
}
