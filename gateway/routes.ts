// REST routes derived from the contracts: one per google.api.http binding of an RPC, with the
// access policy declared beside it ((boxoffice.options.v1.route)). Nothing here is written by
// hand per route, so a proto change is a route change. Anything the gateway cannot serve
// faithfully (unknown policy, unsupported template syntax, ambiguous routes) fails start-up
// rather than misrouting at run time.
import * as protobuf from 'protobufjs';
import { describe } from './descriptors';
import { methodOption } from '../lib/grpc/protos';

export type Audience = 'PUBLIC' | 'USER' | 'ADMIN';
export type QueueTokenPolicy = 'NONE' | 'PRESENT' | 'ACTIVE';

export interface Policy {
  audience: Audience;
  queueToken: QueueTokenPolicy;
  /** HTTP status of a successful answer. */
  successStatus: number;
  /** GET: a caller's repeat may get a success at most this old (ms); 0: always asked. */
  maxStalenessMs: number;
  /**
   * ACTIVE routes: the request field holding a reservation id whose payment may have ended the
   * token; such a token still passes for that reservation (a repeat of its payment).
   */
  repeatAfterPayment: string | undefined;
}

export type Segment =
  { kind: 'literal'; value: string } | { kind: 'variable'; field: protobuf.Field };

export interface Route {
  /** Short service name (`point`), the key of config.grpcTargets. */
  service: string;
  /** Full protobuf service name, also the key of its gRPC health status. */
  serviceFullName: string;
  /** RPC name as declared (`Charge`). */
  rpc: string;
  /** gRPC method path, `/boxoffice.point.v1.PointService/Charge`. */
  grpcPath: string;
  httpMethod: string;
  /** The path template as written in the proto. */
  template: string;
  segments: Segment[];
  /** '*' for the whole request, a top-level field name, or undefined for no body. */
  body: string | undefined;
  /** Top-level response field that is the HTTP body, or undefined for the whole response. */
  responseBody: string | undefined;
  policy: Policy;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  description: string | undefined;
}

const HTTP_VERBS = ['get', 'put', 'post', 'delete', 'patch'] as const;
const PACKAGE = /^boxoffice\.([a-z][a-z0-9_]*)\.v\d+\.[A-Za-z0-9_]+$/;
const LITERAL = /^[A-Za-z0-9._~-]+$/;
const VARIABLE = /^\{([A-Za-z_][A-Za-z0-9_]*)(=\*)?\}$/;
const SCALAR_PATH_TYPES = new Set([
  'string',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
  'bool',
]);

/** Every annotated RPC of every service in root, most specific template first. */
export function buildRoutes(root: protobuf.Root): Route[] {
  const routes: Route[] = [];
  for (const service of allServices(root)) {
    const fullName = service.fullName.replace(/^\./, '');
    for (const method of service.methodsArray) {
      const http = methodOption(method, '(google.api.http)');
      if (!http) continue;
      const m = PACKAGE.exec(fullName);
      if (!m)
        throw new Error(`${fullName}: routed services must live in package boxoffice.<service>.vN`);
      const where = `${fullName}/${method.name}`;
      const policy = parsePolicy(where, methodOption(method, '(boxoffice.options.v1.route)'));
      const requestType = method.resolvedRequestType;
      const responseType = method.resolvedResponseType;
      if (!requestType || !responseType)
        throw new Error(`${where}: unresolved request or response type`);
      if (method.requestStream || method.responseStream)
        throw new Error(`${where}: streaming RPCs cannot be routed`);
      if (policy.repeatAfterPayment && !requestType.fields[policy.repeatAfterPayment])
        throw new Error(`${where}: repeat_after_payment names no field of the request`);
      for (const binding of bindings(http)) {
        if (policy.maxStalenessMs > 0 && binding.httpMethod !== 'GET')
          throw new Error(`${where}: only a GET route may set max_staleness_ms`);
        routes.push(
          buildRoute({
            where,
            service: m[1],
            serviceFullName: fullName,
            rpc: method.name,
            binding,
            policy,
            requestType,
            responseType,
            description: describe(method.comment),
          }),
        );
      }
    }
  }
  routes.sort(compareSpecificity);
  assertUnambiguous(routes);
  return routes;
}

function allServices(ns: protobuf.NamespaceBase): protobuf.Service[] {
  const out: protobuf.Service[] = [];
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Service) out.push(nested);
    else if (nested instanceof protobuf.Namespace) out.push(...allServices(nested));
  }
  return out;
}

function parsePolicy(where: string, raw: Record<string, unknown> | undefined): Policy {
  if (!raw) throw new Error(`${where}: an http route needs (boxoffice.options.v1.route)`);
  const audience = raw.audience;
  const queueToken = raw.queue_token;
  if (audience !== 'PUBLIC' && audience !== 'USER' && audience !== 'ADMIN') {
    throw new Error(`${where}: route audience must be PUBLIC, USER or ADMIN`);
  }
  if (queueToken !== 'NONE' && queueToken !== 'PRESENT' && queueToken !== 'ACTIVE') {
    throw new Error(`${where}: route queue_token must be NONE, PRESENT or ACTIVE`);
  }
  if (audience === 'PUBLIC' && queueToken !== 'NONE') {
    // A queue token is bound to a user, so it cannot be checked without one.
    throw new Error(`${where}: a PUBLIC route cannot require a queue token`);
  }
  // Unset (or the proto default 0) means 200.
  const status =
    raw.success_status === undefined || raw.success_status === 0 ? 200 : raw.success_status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 299) {
    throw new Error(`${where}: success_status must be a 2xx status`);
  }
  const staleness = raw.max_staleness_ms ?? 0;
  if (typeof staleness !== 'number' || !Number.isInteger(staleness) || staleness < 0) {
    throw new Error(`${where}: max_staleness_ms must be a non-negative integer`);
  }
  const repeat = raw.repeat_after_payment;
  if (repeat !== undefined && (typeof repeat !== 'string' || queueToken !== 'ACTIVE')) {
    throw new Error(`${where}: repeat_after_payment names a field, on an ACTIVE route only`);
  }
  return {
    audience,
    queueToken,
    successStatus: status,
    maxStalenessMs: staleness,
    repeatAfterPayment: repeat === '' ? undefined : repeat,
  };
}

interface Binding {
  httpMethod: string;
  template: string;
  body: string | undefined;
  responseBody: string | undefined;
}

function bindings(rule: Record<string, unknown>): Binding[] {
  const out: Binding[] = [];
  let pattern: { httpMethod: string; template: string } | undefined;
  for (const verb of HTTP_VERBS) {
    if (typeof rule[verb] === 'string')
      pattern = { httpMethod: verb.toUpperCase(), template: rule[verb] };
  }
  const custom = rule.custom as { kind?: unknown; path?: unknown } | undefined;
  if (custom && typeof custom.kind === 'string' && typeof custom.path === 'string') {
    pattern = { httpMethod: custom.kind.toUpperCase(), template: custom.path };
  }
  if (pattern) {
    out.push({
      ...pattern,
      body: nonEmpty(rule.body),
      responseBody: nonEmpty(rule.response_body),
    });
  }
  const extra = rule.additional_bindings;
  for (const more of Array.isArray(extra) ? extra : extra ? [extra] : []) {
    out.push(...bindings(more as Record<string, unknown>));
  }
  return out;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function buildRoute(a: {
  where: string;
  service: string;
  serviceFullName: string;
  rpc: string;
  binding: Binding;
  policy: Policy;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  description: string | undefined;
}): Route {
  const { where, binding, requestType, responseType } = a;
  const segments = parseTemplate(where, binding.template, requestType);
  if (binding.body && binding.body !== '*') {
    const field = requestType.fields[binding.body];
    if (!field)
      throw new Error(`${where}: body field "${binding.body}" is not in ${requestType.name}`);
    if (segments.some((s) => s.kind === 'variable' && s.field === field)) {
      throw new Error(`${where}: body field "${binding.body}" is also a path variable`);
    }
  }
  if (binding.responseBody && !responseType.fields[binding.responseBody]) {
    throw new Error(
      `${where}: response_body "${binding.responseBody}" is not in ${responseType.name}`,
    );
  }
  return {
    service: a.service,
    serviceFullName: a.serviceFullName,
    rpc: a.rpc,
    grpcPath: `/${a.serviceFullName}/${a.rpc}`,
    httpMethod: binding.httpMethod,
    template: binding.template,
    segments,
    body: binding.body,
    responseBody: binding.responseBody,
    policy: a.policy,
    requestType,
    responseType,
    description: a.description,
  };
}

/** Parses `/a/{field}/b`: literal segments and single-segment variables naming scalar fields. */
export function parseTemplate(
  where: string,
  template: string,
  requestType: protobuf.Type,
): Segment[] {
  if (!template.startsWith('/') || template === '/')
    throw new Error(`${where}: bad path template "${template}"`);
  const seen = new Set<string>();
  return template
    .slice(1)
    .split('/')
    .map((part): Segment => {
      if (LITERAL.test(part)) return { kind: 'literal', value: part };
      const v = VARIABLE.exec(part);
      if (!v) {
        // Verbs, multi-segment (**) and nested field paths are not used by our contracts.
        throw new Error(`${where}: unsupported path template segment "${part}" in "${template}"`);
      }
      const name = v[1];
      const field = requestType.fields[name];
      if (!field)
        throw new Error(`${where}: path variable {${name}} is not a field of ${requestType.name}`);
      if (field.repeated || field.map || !isScalarPathField(field)) {
        throw new Error(`${where}: path variable {${name}} must be a singular scalar field`);
      }
      if (seen.has(name)) throw new Error(`${where}: path variable {${name}} appears twice`);
      seen.add(name);
      return { kind: 'variable', field };
    });
}

function isScalarPathField(field: protobuf.Field): boolean {
  return SCALAR_PATH_TYPES.has(field.type) || field.resolvedType instanceof protobuf.Enum;
}

/** Literal segments beat variables, position by position from the left; then fewer segments. */
function compareSpecificity(a: Route, b: Route): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ka = a.segments[i].kind;
    const kb = b.segments[i].kind;
    if (ka !== kb) return ka === 'literal' ? -1 : 1;
  }
  return a.segments.length - b.segments.length;
}

function shape(r: Route): string {
  return `${r.httpMethod} /${r.segments.map((s) => (s.kind === 'literal' ? s.value : '{}')).join('/')}`;
}

function assertUnambiguous(routes: Route[]): void {
  const seen = new Map<string, Route>();
  for (const r of routes) {
    const key = shape(r);
    const other = seen.get(key);
    if (other) {
      throw new Error(
        `ambiguous routes: ${r.grpcPath} and ${other.grpcPath} both bind ${r.httpMethod} ${r.template}`,
      );
    }
    seen.set(key, r);
  }
}

export type RouteMatch =
  | { kind: 'found'; route: Route; params: Map<protobuf.Field, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' }
  /** A path variable held malformed percent-encoding. */
  | { kind: 'bad_path'; field: protobuf.Field };

/** Matches request paths to routes; routes come sorted most specific first. */
export class Router {
  constructor(readonly routes: readonly Route[]) {}

  match(method: string, pathname: string): RouteMatch {
    if (!pathname.startsWith('/')) return { kind: 'not_found' };
    const parts = pathname.slice(1).split('/');
    const allow = new Set<string>();
    for (const route of this.routes) {
      if (!fits(route.segments, parts)) continue;
      if (route.httpMethod !== method) {
        allow.add(route.httpMethod);
        continue;
      }
      const params = new Map<protobuf.Field, string>();
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i];
        if (seg.kind !== 'variable') continue;
        try {
          params.set(seg.field, decodeURIComponent(parts[i]));
        } catch {
          return { kind: 'bad_path', field: seg.field };
        }
      }
      return { kind: 'found', route, params };
    }
    return allow.size
      ? { kind: 'method_not_allowed', allow: [...allow].sort() }
      : { kind: 'not_found' };
  }
}

function fits(segments: Segment[], parts: string[]): boolean {
  if (segments.length !== parts.length) return false;
  for (let i = 0; i < parts.length; i++) {
    const seg = segments[i];
    const part = parts[i];
    if (seg.kind === 'literal' ? seg.value !== part : part === '') return false;
  }
  return true;
}
