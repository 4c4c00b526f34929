// Readiness: the gateway is ready when every service behind its routes answers the standard
// grpc.health.v1.Health/Check with SERVING. Liveness (/healthz) needs nothing of this.
import { Metadata } from '@grpc/grpc-js';
import { protoPath as HEALTH_PROTO } from 'grpc-health-check';
import type * as protobuf from 'protobufjs';
import { loadProtos } from '../lib/grpc/protos';
import type { Upstream } from './upstream';

const CHECK_PATH = '/grpc.health.v1.Health/Check';

export interface HealthTarget {
  /** Short name reported to the client (`point`). */
  name: string;
  /** The health key: the full protobuf service name. */
  service: string;
  target: string;
}

export interface Readiness {
  ready: boolean;
  /** Short names of the services not SERVING (unreachable, not serving or unknown). */
  down: string[];
}

export class HealthChecker {
  private readonly request: protobuf.Type;
  private readonly response: protobuf.Type;

  constructor(
    private readonly upstream: Upstream,
    readonly targets: readonly HealthTarget[],
    private readonly timeoutMs: number,
  ) {
    const root = loadProtos([HEALTH_PROTO]);
    this.request = root.lookupType('grpc.health.v1.HealthCheckRequest');
    this.response = root.lookupType('grpc.health.v1.HealthCheckResponse');
  }

  async check(): Promise<Readiness> {
    const results = await Promise.all(
      this.targets.map(async (t) => ((await this.serving(t)) ? undefined : t.name)),
    );
    const down = results.filter((n): n is string => n !== undefined).sort();
    return { ready: down.length === 0, down };
  }

  private async serving(t: HealthTarget): Promise<boolean> {
    const body = Buffer.from(this.request.encode({ service: t.service }).finish());
    try {
      const { response } = await this.upstream.unary(
        t.target,
        CHECK_PATH,
        body,
        new Metadata(),
        this.timeoutMs,
      ).result;
      const decoded = this.response.toObject(this.response.decode(response), { enums: String });
      return decoded.status === 'SERVING';
    } catch {
      // Unreachable, too slow, or the service name is unknown there: all mean "not ready".
      return false;
    }
  }
}
