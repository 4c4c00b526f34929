// Operator command for global transactions, over gRPC as the `operator` identity (docs/trust.md):
//   node dist/cmd/tx.js list [filters] [--json]       newest first, a page at a time
//   node dist/cmd/tx.js show <gid> [--json]           one transaction: branches, history, actions
//   node dist/cmd/tx.js retry <gid> [--expect STATE]  recovery takes it up now
//   node dist/cmd/tx.js decide <gid> [--expect STATE] presumed abort of an XA transaction in doubt
// The same RPCs as the console's admin routes (docs/console.md). An action carries the state the
// operator saw: --expect, or else the state `show` reads just before.
// Exit codes: 0 done, 1 refused or failed (one line, no stack), 2 usage or configuration error.
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { ConfigError, loadConfig } from '../lib/config';
import { ChannelPool, type AsyncClient } from '../lib/grpc/client';
import { errorDetail, isServiceError } from '../lib/grpc/status';
import { loadTrust } from '../lib/trust/trust';
import {
  CoordinatorServiceService,
  ListTransactionsRequest,
  Outcome,
  TxState,
  type ListTransactionsResponse,
  type Transaction,
} from '../gen/boxoffice/coordinator/v1/coordinator';

export const TX_USAGE = `usage:
  tx list [--state S] [--flow F] [--mode xa|saga] [--min-age SECONDS] [--max-age SECONDS]
          [--user ID] [--reservation ID] [--payment ID] [--limit N] [--page-token T] [--json]
  tx show <gid> [--json]
  tx retry <gid> [--expect STATE] [--json]
  tx decide <gid> [--expect STATE] [--json]

States: RUNNING, COMMITTING, ABORTING, COMPENSATING, STUCK, COMMITTED, ABORTED; list also takes
IN_DOUBT. retry and decide act only if the transaction is still in the state --expect names (by
default the state it is in when the command starts): two operators never both act on it.
Calls the coordinator at COORDINATOR_GRPC_TARGET as the operator identity (MESH_KEYS_DIR with
operator.key, or the development keys of MESH_SECRET).
`;

export class UsageError extends Error {}

const LIST_OPTIONS: Record<string, keyof ListFilters> = {
  '--state': 'state',
  '--flow': 'flow',
  '--mode': 'mode',
  '--min-age': 'minAgeSeconds',
  '--max-age': 'maxAgeSeconds',
  '--user': 'userId',
  '--reservation': 'reservationId',
  '--payment': 'paymentId',
  '--limit': 'limit',
  '--page-token': 'pageToken',
};
const NUMERIC = new Set<keyof ListFilters>(['minAgeSeconds', 'maxAgeSeconds', 'limit']);

/** What `tx list` can filter on: the request's fields, its state by name. */
export type ListFilters = Omit<ListTransactionsRequest, 'state'> & { state: string };

export type TxCommand =
  | { command: 'list'; filters: Partial<ListFilters>; json: boolean }
  | { command: 'show'; gid: string; json: boolean }
  | { command: 'retry' | 'decide'; gid: string; expect: string | undefined; json: boolean };

export function parseTxArgs(argv: readonly string[]): TxCommand | 'help' {
  if (argv.length === 0) throw new UsageError('missing command');
  if (argv.includes('--help') || argv.includes('-h') || argv[0] === 'help') return 'help';
  const [name, ...rest] = argv;
  if (!['list', 'show', 'retry', 'decide'].includes(name))
    throw new UsageError(`unknown command "${name}" (list, show, retry or decide)`);
  const command = name as TxCommand['command'];
  let json = false;
  let gid: string | undefined;
  let expect: string | undefined;
  const filters: Partial<ListFilters> = {};
  const value = (i: number, option: string) => {
    const v = rest[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${option} needs a value`);
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '--json') json = true;
    else if (command === 'list' && arg in LIST_OPTIONS) {
      const key = LIST_OPTIONS[arg];
      const v = value(++i, arg);
      if (NUMERIC.has(key)) {
        if (!/^\d+$/.test(v)) throw new UsageError(`${arg} needs a whole number`);
        (filters as Record<string, number>)[key] = Number(v);
      } else (filters as Record<string, string>)[key] = key === 'state' ? v.toUpperCase() : v;
    } else if ((command === 'retry' || command === 'decide') && arg === '--expect')
      expect = value(++i, arg).toUpperCase();
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} for ${command}`);
    else if (command !== 'list' && gid === undefined) gid = arg;
    else throw new UsageError(`unexpected argument "${arg}"`);
  }
  if (command === 'list') return { command, filters, json };
  if (gid === undefined) throw new UsageError(`${command} needs a gid`);
  return command === 'show' ? { command, gid, json } : { command, gid, expect, json };
}

/** The request of a listing: names of states as the enum, the rest as given. */
export function listRequest(f: Partial<ListFilters>): ListTransactionsRequest {
  const { state, ...rest } = f;
  let s = TxState.TX_STATE_UNSPECIFIED;
  if (state !== undefined) {
    s = TxState[state as keyof typeof TxState];
    if (s === undefined || s === TxState.TX_STATE_UNSPECIFIED)
      throw new UsageError(`--state: unknown state ${state}`);
  }
  return ListTransactionsRequest.fromPartial({ ...rest, state: s });
}

/** A state as an operator reads it: STUCK says in which state. */
export function stateText(t: Pick<Transaction, 'state' | 'stuckIn'>): string {
  return t.state === TxState.STUCK ? `STUCK in ${TxState[t.stuckIn]}` : TxState[t.state];
}

/** A transaction as JSON, states by name. */
export function txJson(t: Transaction): unknown {
  return {
    ...t,
    state: TxState[t.state],
    stuckIn: TxState[t.stuckIn],
    history: t.history.map((h) => ({ ...h, state: TxState[h.state] })),
  };
}

/** Aligned columns, the last one free. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatList(res: ListTransactionsResponse): string {
  const counts = res.counts.map((c) => `${TxState[c.state]} ${c.count}`).join(', ');
  if (res.transactions.length === 0) return 'no transaction matches\n';
  const rows = [
    ['GID', 'FLOW', 'MODE', 'STATE', 'ATTEMPTS', 'BEGUN', 'LAST ERROR'],
    ...res.transactions.map((t) => [
      t.gid,
      t.flow,
      t.mode,
      stateText(t) + (t.inDoubt ? ' (in doubt)' : ''),
      String(t.attempts),
      t.createdAt,
      t.lastError.replace(/\s+/g, ' '),
    ]),
  ];
  const next = res.nextPageToken ? `next page: --page-token ${res.nextPageToken}\n` : '';
  return `${table(rows)}\n${counts}\n${next}`;
}

export function formatTransaction(t: Transaction): string {
  const lines = [
    `${t.gid}  ${t.flow} (${t.mode})  ${stateText(t)}${t.inDoubt ? '  IN DOUBT: decide applies presumed abort' : ''}`,
    `begun ${t.createdAt}  deadline ${t.deadlineAt}  updated ${t.updatedAt}`,
    `recovery attempts ${t.attempts}${t.nextAttemptAt ? `  next ${t.nextAttemptAt}` : ''}${t.parkedAt ? `  parked ${t.parkedAt}` : ''}`,
  ];
  if (t.lastError) lines.push(`last error: ${t.lastError}`);
  if (t.traceId) lines.push(`trace: ${t.traceId}`);
  lines.push(`input: ${t.input}`);
  if (t.outcome) lines.push(`outcome: ${t.outcome}`);
  if (t.branches.length > 0)
    lines.push(
      '',
      table([
        ['BRANCH', 'PARTICIPANT', 'STATE', 'ATTEMPTS', 'STARTED', 'ENDED', 'LAST ERROR'],
        ...t.branches.map((b) => [
          b.branchId,
          b.participant,
          b.state,
          String(b.attempts),
          b.startedAt,
          b.endedAt,
          b.lastError.replace(/\s+/g, ' '),
        ]),
      ]),
    );
  lines.push('', `${t.createdAt}  BEGUN RUNNING`);
  for (const h of t.history)
    lines.push(`${h.at}  ${h.event} ${TxState[h.state]}${h.detail ? `  ${h.detail}` : ''}`);
  for (const a of t.actions)
    lines.push(
      `${a.at}  operator ${a.actor}: ${a.action} (seen ${a.expectedState}) ${a.result}: ${a.detail}`,
    );
  return `${lines.join('\n')}\n`;
}

type Coordinator = AsyncClient<typeof CoordinatorServiceService>;

/** Runs one command; returns the exit code. Output goes through `out` so tests can read it. */
export async function runTx(
  cmd: TxCommand,
  coordinator: Coordinator,
  out: (text: string) => void,
): Promise<number> {
  const print = (t: Transaction, extra: Record<string, unknown> = {}) =>
    out(
      cmd.json
        ? `${JSON.stringify({ ...extra, transaction: txJson(t) }, null, 2)}\n`
        : formatTransaction(t),
    );
  switch (cmd.command) {
    case 'list': {
      const res = await coordinator.listTransactions(listRequest(cmd.filters));
      out(
        cmd.json
          ? `${JSON.stringify(
              {
                transactions: res.transactions.map(txJson),
                nextPageToken: res.nextPageToken,
                counts: res.counts.map((c) => ({ state: TxState[c.state], count: c.count })),
              },
              null,
              2,
            )}\n`
          : formatList(res),
      );
      return 0;
    }
    case 'show':
      print((await coordinator.getTransaction({ gid: cmd.gid })).transaction!);
      return 0;
    case 'retry':
    case 'decide': {
      const expected = await expectedState(coordinator, cmd.gid, cmd.expect);
      if (cmd.command === 'retry') {
        const { transaction } = await coordinator.retryTransaction({
          gid: cmd.gid,
          expectedState: expected,
        });
        if (!cmd.json)
          out(`retried ${cmd.gid} (seen ${TxState[expected]}): recovery takes it up now\n`);
        print(transaction!);
      } else {
        const { decision, transaction } = await coordinator.decideTransaction({
          gid: cmd.gid,
          expectedState: expected,
        });
        if (!cmd.json)
          out(`decided ${Outcome[decision]} for ${cmd.gid} (seen ${TxState[expected]})\n`);
        print(transaction!, { decision: Outcome[decision] });
      }
      return 0;
    }
  }
}

/** The state the action expects: --expect, or the one the transaction is in right now. */
async function expectedState(
  coordinator: Coordinator,
  gid: string,
  expect: string | undefined,
): Promise<TxState> {
  if (expect !== undefined) {
    const s = TxState[expect as keyof typeof TxState];
    if (s === undefined || s === TxState.TX_STATE_UNSPECIFIED || s === TxState.IN_DOUBT)
      throw new UsageError(`--expect: unknown state ${expect}`);
    return s;
  }
  return (await coordinator.getTransaction({ gid })).transaction!.state;
}

/** A refusal in one line: reason, message, and the state it is in now when it moved on. */
export function refusalText(err: ServiceError): string {
  const d = errorDetail(err);
  const state = d.metadata.state ? ` (now ${d.metadata.state})` : '';
  return `${Status[d.code]} ${d.reason}: ${d.message}${state}`;
}

async function main(argv: string[]): Promise<number> {
  const write = (s: string) => void process.stdout.write(s);
  let cmd: TxCommand | 'help';
  try {
    cmd = parseTxArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`tx: ${e.message}\n\n${TX_USAGE}`);
    return 2;
  }
  if (cmd === 'help') {
    write(TX_USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`tx: configuration error: ${e.message}\n`);
    return 2;
  }
  const trust = loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, [
    'operator',
  ]);
  const channels = new ChannelPool(config.grpcDeadlineMs);
  try {
    const coordinator = channels.client(
      CoordinatorServiceService,
      config.grpcTargets.coordinator,
      trust.signer('operator'),
    );
    return await runTx(cmd, coordinator, write);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tx: ${e.message}\n`);
      return 2;
    }
    if (isServiceError(e)) {
      process.stderr.write(`tx: ${refusalText(e)}\n`);
      return 1;
    }
    throw e;
  } finally {
    channels.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`tx: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
