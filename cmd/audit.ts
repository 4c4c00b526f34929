// Operator command: checks the cross-database invariants and exits non-zero on a violation.
//   node dist/cmd/audit.js [--json] [--mock <url>] [--no-events] [--no-broker]
// Exit codes: 0 every invariant holds, 1 a violation, 2 usage, configuration or connection error.
import { ConfigError, loadConfig } from '../lib/config';
import { audit, report, type AuditOptions, type Check } from '../ops/audit';

export const AUDIT_USAGE = `usage: node dist/cmd/audit.js [--json] [--mock <url>] [--no-events] [--no-broker]

Checks the invariants that must hold across every service database once the mesh is quiet
(no transaction in flight): seats, reservations, payments, points, the coordinator's log,
prepared XA branches of this deployment, drained outboxes, deliveries to the data platform
and the consumers' parked queues. DB_URL, DB_NAME_PREFIX and AMQP_URL say where to look.
  --json         print { ok, checks: [{ name, ok, count, details }] } instead of text
  --mock <url>   also check what the data-platform mock at <url> accepted (GET /deliveries)
  --no-events    skip the event checks (a deployment without the dataplatform service)
  --no-broker    skip the parked-queue check (no RabbitMQ reachable)
`;

export class UsageError extends Error {}

export interface AuditArgs {
  json: boolean;
  events: boolean;
  broker: boolean;
  mockUrl?: string;
}

export function parseAuditArgs(argv: readonly string[]): AuditArgs | 'help' {
  const args: AuditArgs = { json: false, events: true, broker: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--json') args.json = true;
    else if (arg === '--no-events') args.events = false;
    else if (arg === '--no-broker') args.broker = false;
    else if (arg === '--mock' || arg.startsWith('--mock=')) {
      const value = arg === '--mock' ? argv[++i] : arg.slice('--mock='.length);
      if (!value || value.startsWith('--')) throw new UsageError('--mock needs a URL');
      if (!/^https?:\/\//.test(value)) throw new UsageError(`--mock: not an http URL: ${value}`);
      args.mockUrl = value;
    } else throw new UsageError(`unknown argument ${arg}`);
  }
  return args;
}

/** A check with its offending rows as JSON objects rather than strings. */
const withRows = (c: Check) => ({ ...c, details: c.details.map((d) => JSON.parse(d) as unknown) });

async function main(argv: string[]): Promise<number> {
  let args: AuditArgs | 'help';
  try {
    args = parseAuditArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`audit: ${err.message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(AUDIT_USAGE);
    return 0;
  }
  const config = loadConfig();
  const opts: AuditOptions = {
    events: args.events,
    mockUrl: args.mockUrl,
    amqpUrl: args.broker ? config.amqpUrl : undefined,
  };
  const checks = await audit(config, opts);
  const ok = checks.every((c) => c.ok);
  process.stdout.write(
    args.json
      ? `${JSON.stringify({ ok, checks: checks.map(withRows) }, null, 2)}\n`
      : `${report(checks)}\n`,
  );
  return ok ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(
        `audit: ${err instanceof ConfigError ? 'configuration error: ' : ''}${message}\n`,
      );
      process.exit(2);
    },
  );
}
