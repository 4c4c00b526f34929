// Arguments of the dev token tool (cmd/token.ts), kept here so they can be tested without
// spawning a process.
import { USER_ID, type TokenClaims } from './auth';

export const TOKEN_USAGE = `usage: npm run token -- --user <id> [--admin] [--ttl <seconds>]
       npm run token -- [--user <id> [--admin]] --grpc [--as <identity>]

Prints an HS256 access token for the gateway, signed with AUTH_JWT_SECRET.
  --user <id>       the token subject: 1-64 characters of A-Z, a-z, 0-9, _ and -
  --admin           adds the claim role: "admin"
  --ttl <seconds>   lifetime, 1-31536000 (default 3600)
  --grpc            prints instead an x-boxoffice-caller metadata value, valid for a minute, for
                    calling a service directly (e.g. with grpcurl): the gateway's identity
                    naming --user, or with --as another identity (operator, coordinator, ...)
                    without a user. Signed with that identity's key from MESH_KEYS_DIR (or, in
                    development, derived from MESH_SECRET).
`;

export interface TokenArgs extends Partial<TokenClaims> {
  grpc: boolean;
  /** The identity a --grpc value is signed as; the gateway's by default. */
  as: string;
}

const DEFAULT_TTL = 3600;
const MAX_TTL = 365 * 24 * 3600;

export class UsageError extends Error {}

/** Parsed arguments, or 'help'. Throws UsageError on anything it does not understand. */
export function parseTokenArgs(argv: readonly string[]): TokenArgs | 'help' {
  let userId: string | undefined;
  let admin = false;
  let grpc = false;
  let as = 'gateway';
  let ttlSeconds = DEFAULT_TTL;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = name === arg ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--')))
        throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '-h':
      case '--help':
        return 'help';
      case '--user':
        userId = value();
        if (!USER_ID.test(userId))
          throw new UsageError('--user must be 1-64 characters of A-Z, a-z, 0-9, _ and -');
        break;
      case '--admin':
        if (inline !== undefined) throw new UsageError('--admin takes no value');
        admin = true;
        break;
      case '--grpc':
        if (inline !== undefined) throw new UsageError('--grpc takes no value');
        grpc = true;
        break;
      case '--as':
        as = value();
        break;
      case '--ttl': {
        const raw = value();
        if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_TTL) {
          throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL}`);
        }
        ttlSeconds = Number(raw);
        break;
      }
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  if (as !== 'gateway' && !grpc) throw new UsageError('--as goes with --grpc');
  if (as !== 'gateway' && userId !== undefined)
    throw new UsageError('only the gateway names a user: --user goes without --as');
  if (userId === undefined && as === 'gateway') throw new UsageError('--user is required');
  return { userId, admin, ttlSeconds, grpc, as };
}
