// Development JWTs for tests, signed exactly as `npm run token` signs them.
import { DEV_JWT_SECRET } from '../../lib/config';
import { signAccessToken } from '../../gateway/auth';

export function jwtFor(
  userId: string,
  opts: { admin?: boolean; ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const ttl = opts.ttlSeconds ?? 3600;
  // A negative ttl means "expired that long ago": issued an hour back, lived |ttl| too short.
  const nowSeconds = Math.floor(Date.now() / 1000) - (ttl > 0 ? 0 : 3600);
  return signAccessToken(opts.secret ?? DEV_JWT_SECRET, {
    userId,
    admin: opts.admin ?? false,
    ttlSeconds: ttl > 0 ? ttl : 3600 + ttl,
    nowSeconds,
  });
}
