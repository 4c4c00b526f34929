// Wires a participant service into the transaction machinery: its XA branch pool, the
// shared Participant phase-2 RPCs, and the in-doubt resolver that asks the coordinator about
// branches left prepared (after a crash or a missed phase 2).
import type { Database } from '../db';
import { ConfigError, type DbServiceName } from '../config';
import { bindService, type ServiceBinding } from '../grpc/server';
import type { ServiceContext } from '../service';
import { CoordinatorServiceService, Outcome } from '../../gen/boxoffice/coordinator/v1/coordinator';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { OutboxRelay } from '../events/relay';
import { DomainError } from '../errors';
import type { TxContext } from './context';
import { Housekeeping } from './housekeeping';
import { Participant } from './participant';
import { InDoubtResolver } from './resolver';
import { supportsDurableXa } from './version';
import { XaBranches, createXaPool } from './xa';

export interface ParticipantRuntime {
  participant: Participant;
  relay: OutboxRelay;
  /** The ParticipantService binding to add to the service's gRPC server. */
  binding: ServiceBinding;
}

export async function startParticipant(
  ctx: ServiceContext,
  name: DbServiceName,
  db: Database,
): Promise<ParticipantRuntime> {
  const { config, lifecycle } = ctx;
  const log = ctx.log.child({ participant: name });
  const [row] = await db.query<{ v: string }>('SELECT VERSION() AS v');
  const durable = supportsDurableXa(row?.v ?? '');
  if (config.txMode === 'xa' && !durable) {
    throw new ConfigError(
      `TX_MODE=xa needs MariaDB >= 10.5 or MySQL >= 8.0.29; ${name} runs on ${row?.v}`,
    );
  }

  const xaPool = createXaPool(
    { ...config.db[name], poolSize: config.xa.poolSize },
    config.xa.lockWaitTimeoutSeconds,
    log,
  );
  const xa = new XaBranches(
    xaPool,
    {
      bqual: config.db[name].database,
      activeTimeoutMs: config.xa.holdTimeoutMs,
      holdTimeoutMs: config.xa.holdTimeoutMs,
    },
    log,
  );
  lifecycle.onStop(`${name} xa pool`, () => xaPool.end());
  lifecycle.onStop(`${name} xa branches`, () => xa.close());

  const coordinator = ctx.channels.client(
    CoordinatorServiceService,
    config.grpcTargets.coordinator,
    ctx.trust.signer(name),
  );
  if (durable) {
    const resolver = new InDoubtResolver(
      xa,
      async (gid) => {
        const { outcome } = await coordinator.decideOutcome({ gid });
        if (outcome === Outcome.COMMIT) return 'commit';
        return outcome === Outcome.ROLLBACK ? 'rollback' : 'wait';
      },
      { intervalMs: config.xa.resolverIntervalMs, safetyMs: config.xa.resolverSafetyMs },
      log,
    );
    resolver.start();
    lifecycle.onStop(`${name} xa resolver`, () => resolver.stop());
  }

  // Every participant database has an outbox: its relay publishes what the branches commit.
  const relay = new OutboxRelay(
    db,
    ctx.broker,
    {
      batch: config.events.relayBatch,
      pollMs: config.events.relayPollMs,
      lingerMs: config.events.relayLingerMs,
      maxBackoffMs: 5000,
    },
    log.child({ component: 'outbox-relay' }),
  );
  relay.registerMetrics(ctx.metrics, name);
  relay.start();
  lifecycle.onStop(`${name} outbox relay`, () => relay.stop());

  const housekeeping = new Housekeeping(
    db,
    async (gids) =>
      (await coordinator.getEnded({ gids })).ended.map((e) => ({
        gid: e.gid,
        endedAt: new Date(e.endedAt),
      })),
    {
      releasePollMs: config.events.holdPollMs,
      collectIntervalMs: 60_000,
      retentionMs: config.coordinator.barrierRetentionMs,
      batch: 500,
    },
    log.child({ component: 'housekeeping' }),
    () => relay.wake(),
  );
  housekeeping.start();
  lifecycle.onStop(`${name} housekeeping`, () => housekeeping.stop());

  const participant = new Participant(name, db, durable ? xa : undefined, () => relay.wake());
  const binding = bindService(
    'boxoffice.participant.v1.ParticipantService',
    ParticipantServiceService,
    {
      async commit(req, ctx) {
        await xa.commit(phaseTwoOf(req.gid, ctx.tx, 'commit'));
        relay.wake();
        return {};
      },
      async rollback(req, ctx) {
        await xa.rollback(phaseTwoOf(req.gid, ctx.tx, 'rollback'));
        return {};
      },
    },
  );
  return { participant, relay, binding };
}

/** The gid of a phase-2 call, which its signed context must name, for this very verb. */
function phaseTwoOf(gid: string, tx: TxContext | undefined, op: 'commit' | 'rollback'): string {
  if (tx?.gid !== gid || tx.op !== op)
    throw new DomainError('PERMISSION_DENIED', `the transaction context does not ${op} ${gid}`);
  return gid;
}
