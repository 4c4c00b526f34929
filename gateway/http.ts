// The HTTP side: a plain node:http server, dispatch to the gateway's own endpoints (health,
// docs) and to the generated routes, body reading under the size limit, and JSON answers.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { status as Status, type Metadata } from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import type { Logger } from '../lib/log';
import type { CallerSigner } from '../lib/trust/caller';
import { HTTP_SERVER_DURATION } from '../lib/metrics/catalog';
import type { Metrics } from '../lib/metrics/registry';
import { authorize, type JwtVerifier } from './auth';
import { jsonName } from './descriptors';
import { CONSOLE_PREFIX, type ConsoleAssets } from './console';
import { DOCS_PREFIX, OPENAPI_PATH, type SwaggerDocs } from './docs';
import {
  ApiError,
  errorBody,
  methodNotAllowed,
  notFound,
  payloadTooLarge,
  invalidArgument,
  toApiError,
  WWW_AUTHENTICATE,
} from './errors';
import type { HealthChecker, Readiness } from './health';
import { ACTIVE_PASS_HEADER } from '../lib/trust/activePass';
import type { ActiveTokens } from './activeTokens';
import { callMetadata, idempotencyKey, queueToken } from './policy';
import { RecentAnswers, type Answer } from './recent';
import type { Route, Router } from './routes';
import { encodeRequest, requestFromHttp, responseToJson } from './transcode';
import type { Upstream } from './upstream';

export interface GatewayDeps {
  router: Router;
  upstream: Upstream;
  /** gRPC target of each routed service (by short name). */
  targets: Record<string, string>;
  verifier: JwtVerifier;
  /** Waiting-room tokens: the queue's passes kept, ended ones dropped as announced. */
  tokens: ActiveTokens;
  health: HealthChecker;
  docs: SwaggerDocs;
  /** The operator console's files (/console). */
  console: ConsoleAssets;
  openapi: Record<string, unknown>;
  /** Signs the gateway's calls (naming the end user) to the services. */
  caller: CallerSigner;
  bodyLimitBytes: number;
  log: Logger;
  /** Where http_server_duration_seconds is recorded. */
  metrics: Metrics;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const HTTP_CODE_METADATA = 'x-http-code';
const GATEWAY_METHODS = ['GET', 'HEAD'];
/** The `method` label: anything else is OTHER, so clients cannot mint series. */
const LABELLED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The `route` label of a request no route or gateway endpoint took. */
export const UNMATCHED_ROUTE = 'unmatched';
/** The `code` label of a request whose client hung up before the answer was sent. */
const CLIENT_CLOSED = '499';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createHandler(deps: GatewayDeps): Handler {
  const openapiBody = Buffer.from(JSON.stringify(deps.openapi));
  let readiness: Promise<Readiness> | undefined;
  // Concurrent probes share one round of health checks instead of each fanning out.
  const checkReady = () => {
    readiness ??= deps.health.check().finally(() => {
      readiness = undefined;
    });
    return readiness;
  };

  const duration = deps.metrics.histogram(HTTP_SERVER_DURATION);
  const recent = new RecentAnswers();

  return async (req, res) => {
    const incoming = req.headers['x-request-id'];
    const requestId =
      typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const method = req.method ?? 'GET';
    const { pathname, search } = splitTarget(req.url ?? '/');
    const started = process.hrtime.bigint();
    res.setHeader('X-Request-Id', requestId);
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.log.debug(
        { requestId, method, path: pathname, status: res.statusCode, ms },
        'http request',
      );
    });
    // The route template, never the raw path: one series per route, whatever the ids in it.
    let routeLabel = UNMATCHED_ROUTE;
    // 'close' follows 'finish', and also comes alone when the client hangs up first.
    res.once('close', () => {
      duration.observe(
        {
          method: LABELLED_METHODS.has(method) ? method : 'OTHER',
          route: routeLabel,
          code: res.writableFinished ? String(res.statusCode) : CLIENT_CLOSED,
        },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    let route: Route | undefined;
    try {
      if (pathname === '/healthz' || pathname === '/readyz' || pathname === OPENAPI_PATH) {
        routeLabel = pathname;
      } else if (pathname === DOCS_PREFIX || pathname.startsWith(`${DOCS_PREFIX}/`)) {
        routeLabel = DOCS_PREFIX;
      } else if (pathname === CONSOLE_PREFIX || pathname.startsWith(`${CONSOLE_PREFIX}/`)) {
        routeLabel = CONSOLE_PREFIX;
      }
      if (pathname === '/healthz') {
        gatewayMethod(method);
        return sendJson(res, 200, { status: 'SERVING' });
      }
      if (pathname === '/readyz') {
        gatewayMethod(method);
        const r = await checkReady();
        if (r.ready) return sendJson(res, 200, { status: 'SERVING' });
        // Answered here rather than thrown: "not ready" is a state to report, not a failure to log.
        const down = r.down.join(',');
        const error = new ApiError(Status.UNAVAILABLE, 'UNAVAILABLE', `not ready: ${down}`, {
          down,
        });
        return sendJson(res, 503, errorBody(error));
      }
      if (pathname === OPENAPI_PATH) {
        gatewayMethod(method);
        return send(res, 200, openapiBody, {
          'Content-Type': 'application/json',
          'Cache-Control': 'no-cache',
        });
      }
      if (pathname === DOCS_PREFIX || pathname.startsWith(`${DOCS_PREFIX}/`)) {
        gatewayMethod(method);
        const file = await deps.docs.file(pathname);
        if (!file) throw notFound();
        return send(res, 200, file.body, {
          'Content-Type': file.contentType,
          'Cache-Control': file.cacheControl,
        });
      }
      if (routeLabel === CONSOLE_PREFIX) {
        gatewayMethod(method);
        const file = deps.console.file(pathname);
        if (!file) throw notFound();
        return send(res, 200, file.body, file.headers);
      }
      const match = deps.router.match(method, pathname);
      switch (match.kind) {
        case 'not_found':
          throw notFound();
        case 'method_not_allowed':
          throw methodNotAllowed(method, match.allow);
        case 'bad_path':
          throw invalidArgument(
            jsonName(match.field),
            `path parameter "${jsonName(match.field)}" is not valid percent-encoding`,
          );
        case 'found':
          route = match.route;
          routeLabel = match.route.template;
          return await callRoute(
            deps,
            recent,
            req,
            res,
            match.route,
            match.params,
            new URLSearchParams(search),
            requestId,
          );
      }
    } catch (err) {
      sendError(deps.log, res, err, { requestId, method, path: pathname, rpc: route?.grpcPath });
    }
  };
}

async function callRoute(
  deps: GatewayDeps,
  recent: RecentAnswers,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  params: Map<protobuf.Field, string>,
  query: URLSearchParams,
  requestId: string,
): Promise<void> {
  // A declared oversize body is refused before anything else: it costs nothing to check.
  if (route.body !== undefined && declaredLength(req) > deps.bodyLimitBytes)
    throw payloadTooLarge(deps.bodyLimitBytes);
  const { policy } = route;
  const caller =
    policy.audience === 'PUBLIC'
      ? undefined
      : await deps.verifier.fromHeader(req.headers.authorization);
  if (caller) authorize(policy, caller);
  const token = caller ? queueToken(policy, req.headers) : undefined;
  const forwarded = {
    caller,
    queueToken: token,
    idempotencyKey: idempotencyKey(req.headers),
    requestId,
  };
  // Signed for each call made: a request answered from `recent` makes none.
  const metadata = () => callMetadata(forwarded, deps.caller);
  // Read once: the token check may need a field of it (a repeat of a payment), the call does.
  let request: Promise<Record<string, unknown>> | undefined;
  const readRequest = () =>
    (request ??= (async () =>
      requestFromHttp(route, {
        params,
        query,
        body: route.body !== undefined ? await readBody(req, deps.bodyLimitBytes) : undefined,
      }))());
  if (policy.queueToken === 'ACTIVE' && caller && token !== undefined) {
    const field = policy.repeatAfterPayment;
    // A request that cannot be read repeats no payment: the token's refusal stands.
    const paid = field
      ? async () => {
          const value = (await readRequest().catch(() => undefined))?.[field];
          return typeof value === 'string' ? value : undefined;
        }
      : undefined;
    await deps.tokens.require(token, caller, metadata, paid);
  }
  const ask = async (cancelOnClose: boolean): Promise<Answer> => {
    const encoded = encodeRequest(route.requestType, await readRequest());
    const call = deps.upstream.call(
      route.service,
      deps.targets[route.service],
      route.grpcPath,
      encoded,
      metadata(),
    );
    // A client that hangs up cancels the call instead of leaving it to run to its deadline.
    const onClose = () => call.cancel();
    if (cancelOnClose) res.once('close', onClose);
    try {
      const { response, headers } = await call.result;
      // An answer that shows a token ACTIVE comes with the queue's pass for it: kept, so the
      // booking routes need not ask about the token.
      const [pass] = headers.get(ACTIVE_PASS_HEADER);
      if (typeof pass === 'string') deps.tokens.offer(pass);
      return {
        status: successStatus(route, headers),
        body: Buffer.from(JSON.stringify(responseToJson(route, response))),
      };
    } finally {
      res.off('close', onClose);
    }
  };
  // Checked above for every request: the JWT, its audience and the token's presence. Only the
  // service's answer is reused, and only the same caller's, for the same token, path and query.
  const answer =
    policy.maxStalenessMs > 0
      ? await recent.answer(
          [
            caller?.userId ?? '',
            token ?? '',
            route.grpcPath,
            ...params.values(),
            query.toString(),
          ].join('\n'),
          policy.maxStalenessMs,
          // Shared by whoever asks meanwhile: one client hanging up must not cancel it.
          () => ask(false),
        )
      : await ask(true);
  send(res, answer.status, answer.body, JSON_HEADERS);
}

/** The route's success status, unless the service asked for another 2xx (x-http-code). */
function successStatus(route: Route, headers: Metadata): number {
  const [value] = headers.get(HTTP_CODE_METADATA);
  return typeof value === 'string' && /^2\d\d$/.test(value)
    ? Number(value)
    : route.policy.successStatus;
}

function gatewayMethod(method: string): void {
  if (!GATEWAY_METHODS.includes(method)) throw methodNotAllowed(method, GATEWAY_METHODS);
}

/** Path and query of the request target; absolute-form targets are reduced to their path. */
function splitTarget(target: string): { pathname: string; search: string } {
  let t = target;
  if (/^https?:\/\//i.test(t)) {
    const at = t.indexOf('/', t.indexOf('//') + 2);
    t = at < 0 ? '/' : t.slice(at);
  }
  const q = t.indexOf('?');
  return q < 0 ? { pathname: t, search: '' } : { pathname: t.slice(0, q), search: t.slice(q + 1) };
}

function declaredLength(req: IncomingMessage): number {
  const raw = req.headers['content-length'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 0;
}

/**
 * The request body, up to `limit` bytes. Past the limit it stops buffering and fails at once
 * (413); the rest of the body is discarded by node as the answer is sent.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new ApiError(Status.CANCELLED, 'UNAVAILABLE', 'the client closed the request'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

interface RequestContext {
  requestId: string;
  method: string;
  path: string;
  rpc: string | undefined;
}

function sendError(log: Logger, res: ServerResponse, err: unknown, ctx: RequestContext): void {
  const { error, internal } = toApiError(err);
  const gone = res.destroyed || res.writableEnded;
  if (internal) log.error({ err, ...ctx }, 'request failed with an internal error');
  else if (error.httpStatus >= 500 && !gone)
    log.warn({ err, ...ctx, status: error.httpStatus }, 'request failed');
  if (gone) return; // the client hung up: nobody to answer
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...error.headers };
  if (error.httpStatus === 401 && !headers['WWW-Authenticate'])
    headers['WWW-Authenticate'] = WWW_AUTHENTICATE;
  // After a 413 the unread rest of the body would otherwise have to be drained to reuse the connection.
  if (error.reason === 'PAYLOAD_TOO_LARGE') headers.Connection = 'close';
  sendJson(res, error.httpStatus, errorBody(error), headers);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, Buffer.from(JSON.stringify(value)), { ...JSON_HEADERS, ...headers });
}

function send(
  res: ServerResponse,
  status: number,
  body: Buffer,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    ...headers,
    'Content-Length': String(body.length),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}

export function createGatewayServer(handler: Handler, log: Logger): Server {
  return createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    handler(req, res).catch((err: unknown) => {
      // handler answers every error itself; reaching here is a bug, so drop the connection.
      log.error({ err }, 'unhandled error in the HTTP handler');
      res.destroy();
    });
  });
}

export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting connections, lets in-flight requests finish (up to graceMs), then cuts the rest. */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
