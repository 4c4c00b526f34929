// Caller identity between processes of the mesh. The gateway (after verifying the JWT) and
// the coordinator sign it with the mesh secret; services trust only a valid signature.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

export interface Identity {
  userId: string;
  role: 'user' | 'admin';
}

export const IDENTITY_HEADER = 'x-boxoffice-identity';

export function signIdentity(identity: Identity, secret: string): string {
  const body = Buffer.from(JSON.stringify({ sub: identity.userId, role: identity.role })).toString(
    'base64url',
  );
  return `${body}.${mac(body, secret)}`;
}

export function verifyIdentity(value: string, secret: string): Identity | undefined {
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const body = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(mac(body, secret));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
      sub?: unknown;
      role?: unknown;
    };
    if (typeof parsed.sub !== 'string' || parsed.sub === '') return undefined;
    return { userId: parsed.sub, role: parsed.role === 'admin' ? 'admin' : 'user' };
  } catch {
    return undefined;
  }
}

export function identityFromMetadata(md: Metadata, secret: string): Identity | undefined {
  const [value] = md.get(IDENTITY_HEADER);
  return typeof value === 'string' ? verifyIdentity(value, secret) : undefined;
}

function mac(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
