// The gateway process: routes from the protos, then the HTTP server in front of the services.
import type { GrpcServiceName } from '../lib/config';
import { signedBy } from '../lib/grpc/client';
import type { StartService } from '../lib/service';
import { QueueServiceService } from '../gen/boxoffice/queue/v1/queue';
import { ActiveTokens } from './activeTokens';
import { JwtVerifier } from './auth';
import { loadProtos } from '../lib/grpc/protos';
import { ConsoleAssets } from './console';
import { SwaggerDocs } from './docs';
import { EndedTokenFeed } from './endedTokens';
import { HealthChecker, type HealthTarget } from './health';
import { closeServer, createGatewayServer, createHandler, listen } from './http';
import { buildOpenApi } from './openapi';
import { buildRoutes, Router, type Route } from './routes';
import { Upstream } from './upstream';

/** How long in-flight requests may run on after shutdown begins. */
const SHUTDOWN_GRACE_MS = 10_000;
/** A readiness probe must answer quickly even when a service hangs. */
const HEALTH_TIMEOUT_MS = 2_000;
/** How often kept passes past their token's end are forgotten. */
const PASS_SWEEP_MS = 10_000;

export const startGateway: StartService = async ({
  config,
  log,
  lifecycle,
  channels,
  metrics,
  trust,
}) => {
  const caller = trust.signer('gateway');
  const gwLog = log.child({ service: 'gateway' });
  const routes = buildRoutes(loadProtos());
  const targets = routeTargets(routes, config.grpcTargets);

  const consoleAssets = new ConsoleAssets(config.jaegerUiUrl);
  if (!consoleAssets.built)
    gwLog.warn({ dir: consoleAssets.dir }, 'operator console not built: /console is 404');
  const upstream = new Upstream(config.grpcDeadlineMs, {
    services: new Set(config.gateway.coordinatorTransport === 'mux' ? ['coordinator'] : []),
    openMetadata: () => signedBy(caller),
  });
  // Registered before the server so that it closes after the server has drained.
  lifecycle.onStop('gateway grpc clients', () => upstream.close());

  const queueKey = trust.keys.publicKey('queue');
  if (!queueKey) throw new Error("the gateway needs the queue's public key (MESH_KEYS_DIR)");
  const tokens = new ActiveTokens(
    channels.client(QueueServiceService, config.grpcTargets.queue, caller),
    queueKey,
    // An end announced while a call to the queue is in flight must outlive that call.
    2 * config.grpcDeadlineMs,
  );
  const feed = new EndedTokenFeed(config.redis.url, config.redis.keyPrefix, tokens, gwLog);
  lifecycle.onStop('gateway ended-token feed', () => feed.close());
  const sweep = setInterval(() => tokens.sweep(), PASS_SWEEP_MS);
  sweep.unref();
  lifecycle.onStop('gateway pass sweep', () => clearInterval(sweep));

  const handler = createHandler({
    router: new Router(routes),
    upstream,
    targets,
    verifier: new JwtVerifier(config.jwtSecret),
    tokens,
    health: new HealthChecker(
      upstream,
      healthTargets(routes, targets, config.grpcTargets.queue),
      Math.min(HEALTH_TIMEOUT_MS, config.grpcDeadlineMs),
    ),
    docs: new SwaggerDocs(),
    console: consoleAssets,
    openapi: buildOpenApi(routes, config.gateway.bodyLimitBytes),
    caller,
    bodyLimitBytes: config.gateway.bodyLimitBytes,
    log: gwLog,
    metrics,
  });
  const server = createGatewayServer(handler, gwLog);
  const port = await listen(server, config.gateway.host, config.gateway.port);
  lifecycle.onStop('gateway http', () => closeServer(server, SHUTDOWN_GRACE_MS));
  gwLog.info({ port, routes: routes.length }, 'gateway listening');
  return port;
};

/** The gRPC target of every routed service; a route to a service we cannot reach fails start-up. */
export function routeTargets(
  routes: readonly Route[],
  grpcTargets: Record<GrpcServiceName, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of routes) {
    if (!Object.prototype.hasOwnProperty.call(grpcTargets, r.service)) {
      throw new Error(`${r.grpcPath}: no gRPC target is configured for service "${r.service}"`);
    }
    out[r.service] = grpcTargets[r.service as GrpcServiceName];
  }
  return out;
}

/**
 * Readiness covers every service behind a route, and the queue when a route checks tokens. A
 * service behind admin routes only (ops) is left out: an operators' tool being down must not
 * take the public API out of rotation.
 */
export function healthTargets(
  routes: readonly Route[],
  targets: Record<string, string>,
  queueTarget: string,
): HealthTarget[] {
  const out = new Map<string, HealthTarget>();
  for (const r of routes) {
    if (routes.every((o) => o.service !== r.service || o.policy.audience === 'ADMIN')) continue;
    out.set(r.service, { name: r.service, service: r.serviceFullName, target: targets[r.service] });
  }
  if (routes.some((r) => r.policy.queueToken === 'ACTIVE') && !out.has('queue')) {
    out.set('queue', {
      name: 'queue',
      service: 'boxoffice.queue.v1.QueueService',
      target: queueTarget,
    });
  }
  return [...out.values()];
}
