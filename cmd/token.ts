// Prints a development access token for the gateway, or a caller identity for a direct gRPC call:
//   npm run token -- --user u1 [--admin] [--ttl 3600]
//   npm run token -- --user u1 [--admin] --grpc        npm run token -- --grpc --as operator
// Signed with the configured AUTH_JWT_SECRET, or with the identity's key (through loadConfig).
import { loadConfig } from '../lib/config';
import { IDENTITIES } from '../lib/trust/keys';
import { loadTrust } from '../lib/trust/trust';
import { signAccessToken, type TokenClaims } from '../gateway/auth';
import { parseTokenArgs, TOKEN_USAGE, UsageError } from '../gateway/devtoken';

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseTokenArgs>;
  try {
    args = parseTokenArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`token: ${err.message}\n\n${TOKEN_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(TOKEN_USAGE);
    return 0;
  }
  const config = loadConfig();
  if (!args.grpc) {
    process.stdout.write(`${await signAccessToken(config.jwtSecret, args as TokenClaims)}\n`);
    return 0;
  }
  const as = IDENTITIES.find((i) => i === args.as);
  if (!as) throw new Error(`--as must be one of ${IDENTITIES.join(', ')}`);
  const trust = loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, [as]);
  const user =
    args.userId === undefined
      ? undefined
      : { userId: args.userId, role: args.admin ? ('admin' as const) : ('user' as const) };
  const token = trust.signer(as).token(user);
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Configuration errors are the likely cause: say so in one line, no stack.
    process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
