// The process's metrics endpoint: GET /metrics in the Prometheus text format on its own port
// (METRICS_HOST:METRICS_PORT), apart from the gateway's public one. Anything else is 404.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config';
import type { Lifecycle } from '../lifecycle';
import type { Logger } from '../log';
import { Metrics } from './registry';

export const METRICS_PATH = '/metrics';
const METHODS = ['GET', 'HEAD'];
/** How long close() lets a scrape in progress finish. */
const CLOSE_GRACE_MS = 2000;

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves metrics on host:port (0: a free port); resolves once listening. */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
  log?: Logger,
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const plain = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    };
    if (path !== METRICS_PATH) return plain(404, 'not found\n');
    if (!METHODS.includes(req.method ?? '')) {
      return plain(405, 'method not allowed\n', { Allow: METHODS.join(', ') });
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log?.warn({ err }, 'metrics scrape failed');
        plain(500, 'scrape failed\n');
      },
    );
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return { port: bound, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    // Prometheus keeps its connection open between scrapes.
    server.closeIdleConnections();
  });
}

/**
 * The process's registry, served on config.metricsHost:metricsPort until the lifecycle stops.
 * A port that cannot be bound is logged, not fatal: the services run on without the endpoint
 * (several processes on one host share the default port unless each is given its own).
 */
export async function startMetrics(
  config: Pick<Config, 'metricsHost' | 'metricsPort'>,
  lifecycle: Lifecycle,
  log: Logger,
): Promise<Metrics> {
  const mlog = log.child({ component: 'metrics' });
  const metrics = new Metrics({ log: mlog });
  try {
    const server = await serveMetrics(metrics, config.metricsHost, config.metricsPort, mlog);
    lifecycle.onStop('metrics http', () => server.close());
    mlog.info({ host: config.metricsHost, port: server.port }, 'metrics listening');
  } catch (err) {
    mlog.error(
      { err, host: config.metricsHost, port: config.metricsPort },
      'cannot serve metrics; set METRICS_PORT (0 picks a free port)',
    );
  }
  return metrics;
}
