// The bare gRPC baseline: the mesh's own gRPC server (lib/grpc/server.ts: caller check,
// error mapping, duration metric) serving the queue service's ValidateToken with a handler that
// does nothing. What one unary call costs here is what a unary hop of a flow (the gateway's call
// to the coordinator, say) costs before any work, whatever the service; the coordinator's branch
// calls travel on a stream instead (lib/grpc/mux.ts), which bench/rpcCost.ts compares.
//
//   node dist/bench/bareGrpc.js   → "listening <port>"
import { QueueServiceService } from '../gen/boxoffice/queue/v1/queue';
import { loadConfig } from '../lib/config';
import { GrpcServer } from '../lib/grpc/server';
import { createLogger } from '../lib/log';
import { Metrics } from '../lib/metrics/registry';
import { PROTO_FILES } from '../lib/paths';
import { loadTrust } from '../lib/trust/trust';

const config = loadConfig();
const server = new GrpcServer({
  name: 'queue',
  host: '127.0.0.1',
  port: 0,
  services: [
    {
      fullName: 'boxoffice.queue.v1.QueueService',
      definition: QueueServiceService,
      handlers: { validateToken: () => Promise.resolve({}) },
    },
  ],
  protoFiles: [PROTO_FILES.queue],
  trust: loadTrust({ keysDir: config.meshKeysDir, devSecret: config.meshSecret }, ['queue']),
  log: createLogger('warn', 'bare-grpc'),
  ready: () => Promise.resolve(true),
  metrics: new Metrics(),
});

server.start().then(
  (port) => process.stdout.write(`listening ${port}\n`),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
process.once('SIGTERM', () => {
  void server.stop(1000).finally(() => process.exit(0));
});
