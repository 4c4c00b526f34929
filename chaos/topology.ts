// The processes of a chaos mesh and the relays the runner puts between them: one OS process per
// service (so each can die alone), one or more coordinators behind a round-robin relay, and each
// participant's MariaDB connections through a relay of its own, so any of them can be stalled
// from the start without a restart.
import { loadConfig, type DbServiceName } from '../lib/config';
import { freePort } from '../ops/isolation';
import type { GroupSpec } from '../ops/mesh-runner';
import type { Targets } from './plan';
import { Relay } from './relay';

/** The participants: branch calls go to them and their databases can stall. */
export const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'] as const;

/** The other processes of the mesh, each its own group. The mock is never a victim. */
const OTHERS = ['queue', 'dataplatform', 'gateway'] as const;

/** The coordinator groups: "coordinator" alone, or coordinator-1, coordinator-2, … */
export function coordinatorNames(count: number): string[] {
  return count === 1
    ? ['coordinator']
    : Array.from({ length: count }, (_, i) => `coordinator-${i + 1}`);
}

/** Who each kind of fault may strike. */
export function faultTargets(coordinators: number): Targets {
  const coords = coordinatorNames(coordinators);
  return {
    kill: [...coords, 'queue', ...PARTICIPANTS, 'dataplatform', 'gateway'],
    delay: [...PARTICIPANTS],
    pause: [...coords, ...PARTICIPANTS],
    stall: [...PARTICIPANTS],
  };
}

export class Topology {
  private constructor(
    readonly groups: GroupSpec[],
    /** Environment every process gets (where the coordinators are reached). */
    readonly env: Record<string, string>,
    /** Each participant's relay in front of its database server, by group. */
    readonly dbRelays: Map<string, Relay>,
    /** In front of the coordinators when there are several. */
    readonly balancer: Relay | undefined,
  ) {}

  /**
   * Opens the relays and lays out the groups for a mesh of `coordinators` coordinators whose
   * environment is `env` (its database server is the relays' upstream).
   */
  static async open(coordinators: number, env: Record<string, string>): Promise<Topology> {
    const config = loadConfig(env);
    const relays: Relay[] = [];
    try {
      const dbRelays = new Map<string, Relay>();
      const participantGroups: GroupSpec[] = [];
      for (const name of PARTICIPANTS) {
        const db = config.db[name as DbServiceName];
        const relay = new Relay(`${name}-db`, [{ host: db.host, port: db.port }], await freePort());
        relays.push(relay);
        await relay.listen();
        dbRelays.set(name, relay);
        const url = new URL('mysql://127.0.0.1');
        url.port = String(relay.port);
        url.username = encodeURIComponent(db.user);
        url.password = encodeURIComponent(db.password);
        participantGroups.push({
          name,
          services: name,
          env: { [`${name.toUpperCase()}_DB_URL`]: url.toString() },
        });
      }

      const extraEnv: Record<string, string> = {};
      let coordinatorGroups: GroupSpec[];
      let balancer: Relay | undefined;
      if (coordinators === 1) {
        // As before: a restarted coordinator takes its own transactions back under its id.
        coordinatorGroups = [
          {
            name: 'coordinator',
            services: 'coordinator',
            env: { COORDINATOR_ID: 'chaos-coordinator' },
          },
        ];
      } else {
        // Each instance its own id and port; every caller reaches them through one target, as
        // through a Kubernetes Service: the relay hands each new connection to the next
        // instance that accepts it.
        const names = coordinatorNames(coordinators);
        const ports: number[] = [];
        for (let i = 0; i < names.length; i++) ports.push(await freePort());
        balancer = new Relay(
          'coordinators',
          ports.map((port) => ({ host: '127.0.0.1', port })),
          await freePort(),
        );
        relays.push(balancer);
        await balancer.listen();
        extraEnv.COORDINATOR_GRPC_TARGET = `127.0.0.1:${balancer.port}`;
        coordinatorGroups = names.map((name, i) => ({
          name,
          services: 'coordinator',
          env: { COORDINATOR_ID: `chaos-${name}`, COORDINATOR_GRPC_PORT: String(ports[i]) },
        }));
      }

      // Start order as cmd/mesh.ts hosts them: participants before the coordinators, the
      // gateway last; the mock before the consumer that posts to it.
      const groups: GroupSpec[] = [
        { name: 'queue', services: 'queue' },
        ...participantGroups,
        ...coordinatorGroups,
        { name: 'mock', services: 'dataplatform-mock' },
        ...OTHERS.filter((o) => o !== 'queue').map((name) => ({ name, services: name })),
      ];
      return new Topology(groups, extraEnv, dbRelays, balancer);
    } catch (err) {
      await Promise.all(relays.map((r) => r.close()));
      throw err;
    }
  }

  /** Every relay, database ones and the balancer. */
  get relays(): Relay[] {
    return [...this.dbRelays.values(), ...(this.balancer ? [this.balancer] : [])];
  }

  async close(): Promise<void> {
    await Promise.all(this.relays.map((r) => r.close()));
  }
}
