// The admin token the operator pasted, kept in this tab's session storage only.
const KEY = 'boxoffice.console.token';

export interface SignedIn {
  token: string;
  user: string;
  admin: boolean;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function current(): SignedIn | undefined {
  const token = sessionStorage.getItem(KEY);
  return token ? read(token) : undefined;
}

/** Keeps a token that at least looks like a JWT that has not expired; the gateway checks it. */
export function signIn(token: string): SignedIn {
  const signed = read(token.trim());
  if (!signed) throw new Error('this is not a JWT (header.payload.signature)');
  if (signed.expiresAt <= Date.now()) throw new Error('this token has expired');
  sessionStorage.setItem(KEY, signed.token);
  return signed;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

function read(token: string): SignedIn | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'))) as {
      sub?: unknown;
      role?: unknown;
      exp?: unknown;
    };
    return {
      token,
      user: typeof claims.sub === 'string' ? claims.sub : '?',
      admin: claims.role === 'admin',
      expiresAt: Number(claims.exp ?? 0) * 1000,
    };
  } catch {
    return undefined;
  }
}
