// A gRPC server for one service: every call checked against its RPC's declared access before
// the handler runs (access.ts), async handlers, errors mapped to gRPC status in one place,
// standard health (SERVING only while the service's dependencies answer), reflection listing
// exactly the services registered, and a graceful shutdown that drains in-flight calls.
import {
  Metadata,
  Server,
  ServerCredentials,
  status as Status,
  type ServerDuplexStream,
  type ServiceError,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as HEALTH_PROTO_FILE } from 'grpc-health-check';
import { DomainError } from '../errors';
import type { Logger } from '../log';
import { GRPC_SERVER_DURATION } from '../metrics/catalog';
import type { Metrics } from '../metrics/registry';
import { PROTO_FILES, PROTO_INCLUDE_DIRS, REFLECTION_PROTO_FILES } from '../paths';
import type { TxContext } from '../participant/context';
import type { Caller, EndUser } from '../trust/caller';
import type { Trust } from '../trust/trust';
import type { IdentityName } from '../trust/keys';
import {
  MuxServiceService,
  type ExchangeRequest,
  type ExchangeResponse,
} from '../../gen/boxoffice/mux/v1/mux';
import { accessRules, admit, type AccessRule } from './access';
import { MuxServer, type MuxDispatch } from './mux';
import { loadForReflection } from './reflection';
import { asDomainError, isServiceError, statusError, toServiceError } from './status';

/** What a handler knows of the call it serves, all of it checked before the handler runs. */
export interface CallContext {
  metadata: Metadata;
  /** The service (or operator) that called, as its signed token says. */
  caller: Caller;
  /** The end user the gateway vouches for, when the RPC's access needs or allows one. */
  user: EndUser | undefined;
  /** The transaction context the coordinator signed, for branch and phase-2 RPCs. */
  tx: TxContext | undefined;
  /** Sets response metadata (e.g. x-http-code for the gateway). */
  setHeader(key: string, value: string): void;
}

type MethodDef = {
  requestDeserialize: (b: Buffer) => unknown;
  responseSerialize: (v: never) => Buffer;
};

/** One call of an RPC's outcome: its response, or the gRPC error its caller gets. */
type Outcome = { ok: true; response: unknown } | { ok: false; error: Partial<ServiceError> };

/** One call of an RPC, from its decoded request to its outcome. */
type Run = (
  request: unknown,
  metadata: Metadata,
  setHeader: (key: string, value: string) => void,
) => Promise<Outcome>;
type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** The async handlers of a ts-proto service definition. */
export type AsyncService<S> = {
  [K in keyof S]: (request: ReqOf<S[K]>, ctx: CallContext) => Promise<ResOf<S[K]>>;
};

export interface ServiceBinding {
  /** Full protobuf name, e.g. boxoffice.queue.v1.QueueService (the health service key). */
  fullName: string;
  definition: Record<string, MethodDef>;
  handlers: Record<string, (request: never, ctx: CallContext) => Promise<unknown>>;
}

export function bindService<S extends Record<string, MethodDef>>(
  fullName: string,
  definition: S,
  handlers: AsyncService<S>,
): ServiceBinding {
  return { fullName, definition, handlers: handlers };
}

export interface GrpcServerOptions {
  name: string;
  host: string;
  port: number;
  services: ServiceBinding[];
  /**
   * Proto files (relative to proto/) declaring the services: reflection describes them, and
   * each RPC's access option says who may call it.
   */
  protoFiles: string[];
  /** Verifies callers; the transaction-context key checks branch calls. */
  trust: Trust;
  log: Logger;
  /** Dependencies answer? Polled; health is SERVING only while it resolves true. */
  ready: () => Promise<boolean>;
  readyPollMs?: number;
  /** Where grpc_server_duration_seconds{service=name} is recorded (none: not recorded). */
  metrics?: Metrics;
  /**
   * Also serve the services' calls multiplexed on streams (mux.ts), to these callers (of those
   * MuxService's access rule admits): the coordinator's branch and phase-2 calls to the
   * participants come that way, and the gateway's calls to the coordinator.
   */
  mux?: { callers: readonly IdentityName[] };
}

export class GrpcServer {
  private readonly server: Server;
  private readonly health: HealthImplementation;
  private readonly access: Map<string, AccessRule>;
  private pollTimer: NodeJS.Timeout | undefined;
  private boundPort = 0;
  /** Every served RPC by method path, for calls that come on a mux stream. */
  private readonly served = new Map<string, { run: Run; def: MethodDef }>();
  private readonly mux: MuxServer | undefined;

  constructor(private readonly opts: GrpcServerOptions) {
    this.server = new Server({
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      // No channelz service is exposed; its per-call bookkeeping costs CPU on every call.
      'grpc.enable_channelz': 0,
    });
    const protoFiles = opts.mux ? [...opts.protoFiles, PROTO_FILES.mux] : opts.protoFiles;
    this.access = accessRules(protoFiles);
    const registrar = new Registrar(this.server);
    this.health = new HealthImplementation();
    this.health.addToServer(registrar);
    for (const s of opts.services) {
      registrar.addService(s.definition as unknown as ServiceDefinition, this.adapt(s));
    }
    if (opts.mux) {
      this.mux = new MuxServer(this.dispatch);
      registrar.addService(MuxServiceService, {
        exchange: this.acceptMux(this.mux, opts.mux.callers),
      });
    }
    // Reflection lists itself too, so its names are needed before it exists: an instance over
    // nothing, registered nowhere, tells them.
    const reflectionItself = new Registrar();
    new ReflectionService({}).addToServer(reflectionItself);
    const served = [...registrar.names, ...reflectionItself.names];
    const pkg = loadForReflection(
      [...protoFiles, HEALTH_PROTO_FILE, ...REFLECTION_PROTO_FILES],
      PROTO_INCLUDE_DIRS,
    );
    const undescribed = served.filter((name) => !(name in pkg));
    if (undescribed.length > 0)
      throw new Error(
        `${opts.name}: no proto file of protoFiles declares ${undescribed.join(', ')}`,
      );
    new ReflectionService(pkg, { services: served }).addToServer(registrar);
    // Health and reflection need nothing but the server: SERVING whenever it answers at all.
    const own = new Set(opts.services.map((s) => s.fullName));
    for (const name of served) if (!own.has(name)) this.health.setStatus(name, 'SERVING');
    this.setServing(false);
  }

  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<number> {
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(
        `${this.opts.host}:${this.opts.port}`,
        ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
    await this.checkReady();
    this.pollTimer = setInterval(() => void this.checkReady(), this.opts.readyPollMs ?? 2000);
    this.pollTimer.unref();
    this.opts.log.info(
      { grpcServer: this.opts.name, port: this.boundPort },
      'gRPC server listening',
    );
    return this.boundPort;
  }

  /** Stops taking calls, lets in-flight ones finish (up to graceMs), then closes. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.setServing(false);
    await this.mux?.close(graceMs);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private async checkReady(): Promise<void> {
    let ok = false;
    try {
      ok = await this.opts.ready();
    } catch {
      ok = false;
    }
    this.setServing(ok);
  }

  private setServing(ok: boolean): void {
    const st = ok ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', st);
    for (const s of this.opts.services) this.health.setStatus(s.fullName, st);
  }

  // Only the services' own methods come through here: health and reflection are added apart,
  // so probes neither count as traffic nor crowd the duration histogram.
  private adapt(binding: ServiceBinding): UntypedServiceImplementation {
    const impl: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(binding.handlers)) {
      const path = methodPath(binding, method);
      const run = this.runner(binding, method, handler);
      this.served.set(path, { run, def: binding.definition[method] });
      impl[method] = (
        call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        // Response metadata goes once, with the answer: a handler may set several keys.
        let headers: Metadata | undefined;
        const setHeader = (key: string, value: string) => {
          (headers ??= new Metadata()).set(key, value);
        };
        void run(call.request, call.metadata, setHeader).then((outcome) => {
          if (headers) call.sendMetadata(headers);
          if (outcome.ok) callback(null, outcome.response);
          else callback(outcome.error, null);
        });
      };
    }
    return impl;
  }

  /**
   * One RPC as every call of it runs, unary or on a mux stream: the caller admitted by the RPC's
   * access rule, the handler, its duration recorded, an error mapped to its gRPC status.
   */
  private runner(
    binding: ServiceBinding,
    method: string,
    handler: ServiceBinding['handlers'][string],
  ): Run {
    const rpc = rpcName(binding, method);
    const path = methodPath(binding, method);
    // Nothing is open by default: an RPC must say who may call it.
    const rule = this.access.get(path);
    if (!rule) throw new Error(`${this.opts.name}: ${path} declares no access`);
    const { verifier, txKey } = this.opts.trust;
    const duration = this.opts.metrics?.histogram(GRPC_SERVER_DURATION);
    const done = (started: bigint, code: Status) =>
      duration?.observe(
        { service: this.opts.name, method: rpc, code: Status[code] },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    return async (request, metadata, setHeader) => {
      const started = process.hrtime.bigint();
      try {
        const { caller, tx } = admit(rule, rpc, metadata, verifier, txKey);
        const res = await handler(request as never, {
          metadata,
          caller,
          user: caller.user,
          tx,
          setHeader,
        });
        done(started, Status.OK);
        return { ok: true, response: res };
      } catch (err) {
        const error = this.toGrpcError(binding.fullName, method, err);
        done(started, error.code ?? Status.UNKNOWN);
        return { ok: false, error };
      }
    };
  }

  /** A call that came on a mux stream, run as its unary form would be. */
  private readonly dispatch: MuxDispatch = async (method, request, metadata) => {
    const served = this.served.get(method);
    if (!served)
      return {
        error: statusError({
          code: Status.UNIMPLEMENTED,
          message: `${method} is not served here`,
          reason: 'UNIMPLEMENTED',
          metadata: {},
        }),
      };
    let decoded: unknown;
    try {
      decoded = served.def.requestDeserialize(request);
    } catch {
      return {
        error: statusError({
          code: Status.INVALID_ARGUMENT,
          message: `the request of ${method} could not be decoded`,
          reason: 'INVALID_ARGUMENT',
          metadata: {},
        }),
      };
    }
    const headers: Record<string, string> = {};
    const outcome = await served.run(decoded, metadata, (key, value) => {
      headers[key] = value;
    });
    if (!outcome.ok) return { error: outcome.error };
    return { response: served.def.responseSerialize(outcome.response as never), headers };
  };

  /** Opens a mux stream for a caller its access rule admits; refuses anyone else at once. */
  private acceptMux(mux: MuxServer, callers: readonly IdentityName[]) {
    const declared = this.access.get(MuxServiceService.exchange.path)!;
    const rule = { ...declared, callers: new Set(callers.filter((c) => declared.callers.has(c))) };
    const { verifier, txKey } = this.opts.trust;
    return (stream: ServerDuplexStream<ExchangeRequest, ExchangeResponse>) => {
      try {
        admit(rule, 'Exchange', stream.metadata, verifier, txKey);
      } catch (err) {
        stream.emit('error', this.toGrpcError(MuxServiceService.exchange.path, 'exchange', err));
        return;
      }
      mux.accept(stream);
    };
  }

  private toGrpcError(service: string, method: string, err: unknown) {
    if (err instanceof DomainError) return toServiceError(err);
    if (isServiceError(err)) {
      // A refusal from a service we called passes through with its reason intact.
      const passed = asDomainError(err);
      if (passed) return toServiceError(passed);
      if (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED) {
        return statusError({
          code: err.code,
          message: 'a downstream service is unavailable',
          reason: 'UNAVAILABLE',
          metadata: {},
        });
      }
    }
    this.opts.log.error({ err, service, method }, 'unhandled error in gRPC handler');
    return statusError({
      code: Status.INTERNAL,
      message: 'internal error',
      reason: 'INTERNAL',
      metadata: {},
    });
  }
}

/** Adds services to a server (or to none) and keeps their full names, in order. */
class Registrar {
  readonly names: string[] = [];

  constructor(private readonly server?: Pick<Server, 'addService'>) {}

  addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.names.push(serviceName(service));
    this.server?.addService(service, implementation);
  }
}

/** A service's full name, from the path of its methods (`/package.Service/Method`). */
function serviceName(service: ServiceDefinition): string {
  const path = Object.values(service)[0]?.path;
  if (!path) throw new Error('a service without methods has no name to register');
  return path.slice(1, path.lastIndexOf('/'));
}

/** The method's path (`/package.Service/Method`), as its definition declares it. */
function methodPath(binding: ServiceBinding, method: string): string {
  const path = (binding.definition[method] as { path?: unknown } | undefined)?.path;
  if (typeof path !== 'string') throw new Error(`${binding.fullName}.${method} has no path`);
  return path;
}

/** The RPC's name as declared in the proto (`Charge`), from its method path. */
function rpcName(binding: ServiceBinding, method: string): string {
  const path = methodPath(binding, method);
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The end user the call acts for; its RPC's access (USER_REQUIRED) guarantees one. */
export function requireUser(ctx: CallContext): EndUser {
  if (!ctx.user) throw new DomainError('UNAUTHENTICATED', 'the call names no signed-in user');
  return ctx.user;
}
