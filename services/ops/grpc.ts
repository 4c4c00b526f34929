// gRPC adapter of the ops service: decode, call one use case, encode.
import { actorOf } from '../../lib/grpc/actor';
import { bindService, type ServiceBinding } from '../../lib/grpc/server';
import { OpsServiceService } from '../../gen/boxoffice/ops/v1/ops';
import type { Operations } from './operations';

export function opsService(ops: Operations): ServiceBinding {
  return bindService('boxoffice.ops.v1.OpsService', OpsServiceService, {
    async listParked(req) {
      return { queues: await ops.parked(req.limit) };
    },
    async replayParked(req, ctx) {
      const { taken, notParked } = await ops.replay(actorOf(ctx), req.queue, req.eventIds);
      return { replayed: taken, notParked };
    },
    async dropParked(req, ctx) {
      const { taken, notParked } = await ops.drop(actorOf(ctx), req.queue, req.eventIds);
      return { dropped: taken, notParked };
    },
    async runAudit() {
      const run = await ops.audit();
      return {
        ok: run.ok,
        invariants: run.checks.map((c) => ({
          name: c.name,
          ok: c.ok,
          count: c.count,
          rows: c.details,
          skipped: c.skipped ?? '',
        })),
        checkedAt: run.checkedAt.toISOString(),
        tookMs: run.tookMs,
      };
    },
  });
}
