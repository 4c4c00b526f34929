// Operator command for parked events (a consumer's dead-letter queue, lib/events/dlq.ts):
//   node dist/cmd/dlq.js list <queue> [--json]
//   node dist/cmd/dlq.js replay <queue> [--event <id> ...]
// <queue> is the consumer's queue (e.g. dataplatform.deliveries), not its .parked queue.
// Exit codes: 0 done, 2 usage or configuration error, 1 anything else (one line, no stack).
import { ConfigError, loadConfig, type Config } from '../lib/config';
import { Broker } from '../lib/events/broker';
import { parkedQueue } from '../lib/events/consumer';
import { listParked, replayParked, type ParkedMessage } from '../lib/events/dlq';
import { createLogger } from '../lib/log';

export const DLQ_USAGE = `usage:
  dlq list <queue> [--json]             show the parked messages of a consumer queue
  dlq replay <queue> [--event <id> ...] move parked messages (all, or these events) back to it

<queue> is the consumer's queue, e.g. dataplatform.deliveries (its parked messages live in
<queue>.parked). AMQP_URL and EVENTS_EXCHANGE say which broker and exchange.
`;

export class UsageError extends Error {}

export type DlqCommand =
  | { command: 'list'; queue: string; json: boolean }
  | { command: 'replay'; queue: string; eventIds: string[] };

export function parseDlqArgs(argv: string[]): DlqCommand | 'help' {
  if (argv.length === 0) throw new UsageError('missing command');
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') return 'help';
  const [command, ...rest] = argv;
  if (command !== 'list' && command !== 'replay')
    throw new UsageError(`unknown command "${command}" (list or replay)`);
  let queue: string | undefined;
  let json = false;
  const eventIds: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--json' && command === 'list') json = true;
    else if (arg === '--event' && command === 'replay') {
      const id = rest[++i];
      if (id === undefined || id === '' || id.startsWith('-'))
        throw new UsageError('--event needs an event id');
      eventIds.push(id);
    } else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} for ${command}`);
    else if (queue === undefined) queue = arg;
    else throw new UsageError(`unexpected argument "${arg}"`);
  }
  if (queue === undefined) throw new UsageError(`${command} needs a queue`);
  if (queue.endsWith('.parked'))
    throw new UsageError(
      `give the consumer's queue, not its parked queue: "${queue.slice(0, -7)}"`,
    );
  return command === 'list' ? { command, queue, json } : { command, queue, eventIds };
}

/** The parked messages as an aligned table, one line each (errors flattened to one line). */
export function formatParked(queue: string, messages: ParkedMessage[]): string {
  if (messages.length === 0) return `no parked messages in ${parkedQueue(queue)}\n`;
  const rows = [
    ['EVENT ID', 'TYPE', 'ATTEMPTS', 'LAST ERROR'],
    ...messages.map((m) => [
      m.eventId,
      m.type,
      String(m.attempts),
      m.lastError.replace(/\s+/g, ' ').trim(),
    ]),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n${messages.length} parked message(s) in ${parkedQueue(queue)}\n`;
}

/** Runs one command; returns the exit code. Output goes through out/err so tests can read it. */
export async function runDlq(
  cmd: DlqCommand,
  broker: Broker,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  await assertQueueExists(broker, parkedQueue(cmd.queue));
  if (cmd.command === 'list') {
    const messages = await listParked(broker, cmd.queue);
    out(
      cmd.json
        ? `${JSON.stringify(
            messages.map(({ eventId, type, attempts, lastError, body }) => ({
              eventId,
              type,
              attempts,
              lastError,
              body: parseBody(body),
            })),
            null,
            2,
          )}\n`
        : formatParked(cmd.queue, messages),
    );
    return 0;
  }
  if (cmd.eventIds.length === 0) {
    const n = await replayParked(broker, cmd.queue);
    out(`replayed ${n} message(s) from ${parkedQueue(cmd.queue)} to ${cmd.queue}\n`);
    return 0;
  }
  // Listed first only to name the ids that are not parked; replay moves what it finds.
  const parked = new Set((await listParked(broker, cmd.queue)).map((m) => m.eventId));
  const wanted = new Set(cmd.eventIds);
  const n = await replayParked(broker, cmd.queue, wanted);
  out(`replayed ${n} message(s) from ${parkedQueue(cmd.queue)} to ${cmd.queue}\n`);
  const missing = [...wanted].filter((id) => !parked.has(id));
  if (missing.length === 0) return 0;
  err(`dlq: not parked in ${parkedQueue(cmd.queue)}: ${missing.join(', ')}\n`);
  return 1;
}

/**
 * A missing queue would otherwise surface as a closed channel; name it instead. Its own channel:
 * a failed check closes the channel it ran on.
 */
async function assertQueueExists(broker: Broker, queue: string): Promise<void> {
  const ch = await broker.confirmChannel();
  try {
    await ch.checkQueue(queue);
  } catch {
    throw new Error(`no queue "${queue}" on the broker (is the consumer queue name right?)`);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/** The broker URL without its password, for error messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable AMQP_URL)';
  }
}

async function main(argv: string[]): Promise<number> {
  const write = (s: string) => void process.stdout.write(s);
  const writeErr = (s: string) => void process.stderr.write(s);
  let cmd: DlqCommand | 'help';
  try {
    cmd = parseDlqArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeErr(`dlq: ${e.message}\n\n${DLQ_USAGE}`);
    return 2;
  }
  if (cmd === 'help') {
    write(DLQ_USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    writeErr(`dlq: configuration error: ${e.message}\n`);
    return 2;
  }
  // Silent: the broker's own warnings would interleave with the output (and --json).
  const broker = new Broker(
    { url: config.amqpUrl, exchange: config.events.exchange },
    createLogger('silent'),
  );
  try {
    try {
      await (await broker.confirmChannel()).close();
    } catch (e) {
      throw new Error(
        `cannot reach RabbitMQ at ${redact(config.amqpUrl)}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return await runDlq(cmd, broker, write, writeErr);
  } finally {
    await broker.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`dlq: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
