// The gateway's calls to a restarted service: once the gateway's health check finds the service
// SERVING again, the very next call on its stream must go through. (Seen in the crash suite: the
// stream once had a channel of its own, still backing off after the restart while the health
// check's channel had connected, so the first Pay after a ready gateway failed UNAVAILABLE.)
import { expect } from 'chai';
import { Metadata } from '@grpc/grpc-js';
import { createLogger } from '../lib/log';
import { freePort } from '../ops/isolation';
import { PROTO_FILES } from '../lib/paths';
import { bindService, GrpcServer } from '../lib/grpc/server';
import { signedBy } from '../lib/grpc/client';
import { CALLER_METADATA } from '../lib/trust/caller';
import { keysFromSecret } from '../lib/trust/keys';
import { Trust } from '../lib/trust/trust';
import {
  CoordinatorServiceService,
  GetTransactionResponse,
} from '../gen/boxoffice/coordinator/v1/coordinator';
import { HealthChecker } from './health';
import { Upstream } from './upstream';

const trust = new Trust(keysFromSecret('upstream-test-secret'));
const log = createLogger('silent');
const gateway = trust.signer('gateway');

function coordinator(port: number): GrpcServer {
  return new GrpcServer({
    name: 'fake-coordinator',
    host: '127.0.0.1',
    port,
    services: [
      bindService('boxoffice.coordinator.v1.CoordinatorService', CoordinatorServiceService, {
        async getTransaction(req: { gid: string }) {
          return GetTransactionResponse.fromPartial({ transaction: { gid: req.gid } });
        },
      } as never),
    ],
    protoFiles: [PROTO_FILES.coordinator],
    trust,
    log,
    ready: async () => true,
    mux: { callers: ['gateway'] },
  });
}

describe('the gateway upstream, across a restart of a streamed service', function () {
  this.timeout(30_000);

  it('calls on the stream as soon as the health check finds the service back', async () => {
    const port = await freePort();
    const target = `127.0.0.1:${port}`;
    const upstream = new Upstream(2000, {
      services: new Set(['coordinator']),
      openMetadata: () => signedBy(gateway),
    });
    const health = new HealthChecker(
      upstream,
      [{ name: 'coordinator', service: 'boxoffice.coordinator.v1.CoordinatorService', target }],
      1000,
    );
    const path = CoordinatorServiceService.getTransaction.path;
    const request = CoordinatorServiceService.getTransaction.requestSerialize({ gid: 'g1' });
    // An operator's console call: the gateway names an admin.
    const asAdmin = () => {
      const md = new Metadata();
      md.set(CALLER_METADATA, gateway.token({ userId: 'boss', role: 'admin' }));
      return md;
    };
    const call = () => upstream.call('coordinator', target, path, request, asAdmin()).result;
    let server = coordinator(port);
    try {
      await server.start();
      await call();
      await server.stop(100);
      // Calls while it is down fail, and leave the channel backing off between attempts.
      for (let i = 0; i < 5; i++) await call().catch(() => undefined);
      server = coordinator(port);
      await server.start();
      while (!(await health.check()).ready) await new Promise((r) => setTimeout(r, 20));
      const { response } = await call();
      const { transaction } =
        CoordinatorServiceService.getTransaction.responseDeserialize(response);
      expect(transaction?.gid).to.equal('g1');
    } finally {
      upstream.close();
      await server.stop(100);
    }
  });
});
