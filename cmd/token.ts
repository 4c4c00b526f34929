// Prints a development access token for the gateway:
//   npm run token -- --user u1 [--admin] [--ttl 3600] [--grpc]
// Signed with the configured AUTH_JWT_SECRET (through loadConfig, like every process).
import { loadConfig } from '../lib/config';
import { signIdentity } from '../lib/grpc/identity';
import { signAccessToken } from '../gateway/auth';
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
  const token = args.grpc
    ? signIdentity({ userId: args.userId, role: args.admin ? 'admin' : 'user' }, config.meshSecret)
    : await signAccessToken(config.jwtSecret, args);
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
