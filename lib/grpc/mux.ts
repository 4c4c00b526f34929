// Unary calls multiplexed over one long-lived bidirectional stream per peer
// (proto/boxoffice/mux/v1/mux.proto): a unary grpc-js call costs client and server several times
// the CPU of a message on an open stream (bench/rpcCost.ts), and the coordinator's branch calls
// all go to the same four peers. A call keeps everything its unary form has — method, request
// bytes, metadata (signed caller, transaction context, trace context), a deadline, the status of
// its answer — so the server checks and runs it exactly as the unary call (server.ts), and a
// broken stream fails its calls in flight as UNAVAILABLE, which callers treat as any lost call.
import {
  Metadata,
  status as Status,
  type Client,
  type ClientDuplexStream,
  type ServerDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
} from '@opentelemetry/api';
import {
  MuxServiceService,
  type ExchangeRequest,
  type ExchangeResponse,
} from '../../gen/boxoffice/mux/v1/mux';

const DETAILS_KEY = 'grpc-status-details-bin';
/** A stream's caller refused as it opened (lib/grpc/server.ts admits it before any call). */
const OPEN_REFUSALS = new Set<Status>([
  Status.UNAUTHENTICATED,
  Status.PERMISSION_DENIED,
  Status.UNIMPLEMENTED,
]);
const tracer = trace.getTracer('boxoffice.grpc.mux');

/** What a call answers: the response bytes, or the error its unary form would have raised. */
export type MuxAnswer =
  { response: Buffer; headers: Record<string, string> } | { error: Partial<ServiceError> };

/** Runs one call as the server runs its unary form. */
export type MuxDispatch = (
  method: string,
  request: Buffer,
  metadata: Metadata,
) => Promise<MuxAnswer>;

// ---------------------------------------------------------------------------------- client

/** A call's answer as its unary form gets it: the response and the handler's headers. */
export interface MuxReply {
  response: Buffer;
  headers: Metadata;
}

interface Pending {
  resolve(reply: MuxReply): void;
  reject(err: ServiceError): void;
  /** Stops its deadline's timer and its abort listener. */
  done(): void;
}

/** The calls to one peer: one stream, opened on the first call and again after it breaks. */
export class MuxChannel {
  private stream: ClientDuplexStream<ExchangeRequest, ExchangeResponse> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly client: Client,
    /** Metadata of the stream itself: the caller's signed identity, fresh for each stream. */
    private readonly openMetadata: () => Metadata,
    private readonly peer: string,
  ) {}

  /**
   * One call. Aborting `signal` fails it as CANCELLED at once, as a cancelled unary call; the
   * server is not told (the stream carries no cancel), so its answer, if any, is dropped.
   */
  call(
    method: string,
    request: Buffer,
    metadata: Metadata,
    deadlineMs: number,
    signal?: AbortSignal,
  ): Promise<MuxReply> {
    if (this.closed) return Promise.reject(unavailable(`calls to ${this.peer} are closed`));
    if (signal?.aborted) return Promise.reject(cancelled());
    const span = tracer.startSpan(`grpc.${method.slice(1)}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'rpc.system': 'grpc', 'rpc.method': method, 'rpc.transport': 'mux' },
    });
    const md: Record<string, string> = {};
    for (const [key, value] of Object.entries(metadata.getMap()))
      if (typeof value === 'string') md[key] = value;
    propagation.inject(trace.setSpan(context.active(), span), md);
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    const answer = new Promise<MuxReply>((resolve, reject) => {
      const onAbort = () => this.settle(id)?.reject(cancelled());
      const timer = setTimeout(
        () =>
          this.settle(id)?.reject(
            serviceError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded', new Metadata()),
          ),
        deadlineMs,
      );
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve,
        reject,
        done: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
    });
    this.open().write({ id, method, request, metadata: md });
    return settleSpan(span, answer);
  }

  /** Ends the stream; calls in flight fail as UNAVAILABLE. */
  close(): void {
    this.closed = true;
    const stream = this.stream;
    this.broken(stream, `calls to ${this.peer} are closed`);
    stream?.cancel();
  }

  private open(): ClientDuplexStream<ExchangeRequest, ExchangeResponse> {
    if (this.stream) return this.stream;
    // Under no request's trace: the stream outlives every call made on it.
    const stream = context.with(ROOT_CONTEXT, () =>
      this.client.makeBidiStreamRequest(
        MuxServiceService.exchange.path,
        MuxServiceService.exchange.requestSerialize,
        MuxServiceService.exchange.responseDeserialize,
        this.openMetadata(),
      ),
    );
    this.stream = stream;
    stream.on('data', (a: ExchangeResponse) => this.answered(a));
    stream.on('error', (err: ServiceError) =>
      this.broken(
        stream,
        `the call stream to ${this.peer} broke: ${err.details || err.message}`,
        // Refused when it opened, before any call ran: the calls get that refusal. Otherwise
        // a call may have run, or not: UNAVAILABLE, as for a lost unary call.
        OPEN_REFUSALS.has(err.code) ? err.code : Status.UNAVAILABLE,
      ),
    );
    stream.on('end', () => this.broken(stream, `the call stream to ${this.peer} ended`));
    return stream;
  }

  /** Takes a call out of those in flight (none: it is settled already); ends its watches. */
  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) return undefined;
    this.pending.delete(id);
    p.done();
    return p;
  }

  private answered(a: ExchangeResponse): void {
    const p = this.settle(a.id);
    if (!p) return; // past its deadline, or cancelled: the caller has gone
    if (a.code === (Status.OK as number)) {
      const headers = new Metadata();
      for (const [key, value] of Object.entries(a.headers)) headers.set(key, value);
      p.resolve({ response: Buffer.from(a.response), headers });
      return;
    }
    const md = new Metadata();
    if (a.statusDetails.length > 0) md.set(DETAILS_KEY, Buffer.from(a.statusDetails));
    p.reject(serviceError(a.code, a.message, md));
  }

  /** Whatever this stream carried is lost: each call fails as a lost unary call would. */
  private broken(stream: typeof this.stream, why: string, code = Status.UNAVAILABLE): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const p of lost) {
      p.done();
      p.reject(serviceError(code, why, new Metadata()));
    }
  }
}

async function settleSpan(span: Span, answer: Promise<MuxReply>): Promise<MuxReply> {
  try {
    return await answer;
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as ServiceError).details });
    span.setAttribute('rpc.grpc.status_code', (err as ServiceError).code);
    throw err;
  } finally {
    span.end();
  }
}

function cancelled(): ServiceError {
  return serviceError(Status.CANCELLED, 'Cancelled on client', new Metadata());
}

function unavailable(why: string): ServiceError {
  return serviceError(Status.UNAVAILABLE, why, new Metadata());
}

function serviceError(code: Status, details: string, metadata: Metadata): ServiceError {
  return Object.assign(new Error(`${code} ${Status[code]}: ${details}`), {
    code,
    details,
    metadata,
  });
}

// ---------------------------------------------------------------------------------- server

type ServerStream = ServerDuplexStream<ExchangeRequest, ExchangeResponse>;

/** An open stream: its calls in flight, and whether its caller is done sending. */
interface Open {
  inFlight: number;
  halfClosed: boolean;
}

/** The server side: each stream's calls dispatched as unary calls, answered as they finish. */
export class MuxServer {
  private readonly streams = new Map<ServerStream, Open>();
  private closing = false;
  private drained: (() => void) | undefined;

  constructor(private readonly dispatch: MuxDispatch) {}

  /** Takes a stream whose caller was admitted to open it. */
  accept(stream: ServerStream): void {
    const open: Open = { inFlight: 0, halfClosed: false };
    this.streams.set(stream, open);
    const forget = () => {
      this.streams.delete(stream);
      this.checkDrained();
    };
    stream.on('data', (call: ExchangeRequest) => this.serve(stream, open, call));
    stream.on('end', () => {
      open.halfClosed = true;
      this.settle(stream, open);
    });
    stream.on('cancelled', forget);
    stream.on('error', forget);
  }

  /**
   * Stops taking calls (a new one is answered UNAVAILABLE), lets those in flight answer, then
   * ends every stream, so that open streams do not hold the server's graceful shutdown.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    for (const [stream, open] of this.streams) this.settle(stream, open);
    if (this.streams.size > 0) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(force);
          resolve();
        };
      });
    }
    for (const stream of this.streams.keys()) if (stream.writable) stream.end();
    this.streams.clear();
  }

  private serve(stream: ServerStream, open: Open, call: ExchangeRequest): void {
    if (this.closing) {
      write(stream, errorAnswer(call.id, unavailable('the server is shutting down')));
      return;
    }
    open.inFlight += 1;
    void this.run(call)
      // run() answers every outcome of a call; this is for a bug in it, never the caller's.
      .catch(() =>
        errorAnswer(call.id, serviceError(Status.INTERNAL, 'internal error', new Metadata())),
      )
      .then((answer) => {
        write(stream, answer);
        open.inFlight -= 1;
        this.settle(stream, open);
      });
  }

  /** Ends a stream with nothing in flight once its caller is done, or the server closes. */
  private settle(stream: ServerStream, open: Open): void {
    if (open.inFlight > 0 || !(open.halfClosed || this.closing)) return;
    if (this.streams.delete(stream) && stream.writable) stream.end();
    this.checkDrained();
  }

  private async run(call: ExchangeRequest): Promise<ExchangeResponse> {
    const md = new Metadata();
    try {
      for (const [key, value] of Object.entries(call.metadata)) md.set(key, value);
    } catch (err) {
      const bad = serviceError(Status.INVALID_ARGUMENT, (err as Error).message, new Metadata());
      return errorAnswer(call.id, bad);
    }
    // The caller's span, sent in the call's metadata, is this one's parent.
    const parent = propagation.extract(ROOT_CONTEXT, call.metadata);
    return tracer.startActiveSpan(
      `grpc.${call.method.slice(1)}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'rpc.system': 'grpc', 'rpc.method': call.method, 'rpc.transport': 'mux' },
      },
      parent,
      async (span) => {
        try {
          const answer = await this.dispatch(call.method, Buffer.from(call.request), md);
          if ('error' in answer) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: answer.error.details });
            return errorAnswer(call.id, answer.error);
          }
          return {
            id: call.id,
            code: Status.OK,
            response: answer.response,
            message: '',
            statusDetails: Buffer.alloc(0),
            headers: answer.headers,
          };
        } finally {
          span.end();
        }
      },
    );
  }

  private checkDrained(): void {
    if (this.closing && this.streams.size === 0) this.drained?.();
  }
}

function errorAnswer(id: number, err: Partial<ServiceError>): ExchangeResponse {
  const [details] = err.metadata?.get(DETAILS_KEY) ?? [];
  return {
    id,
    code: err.code ?? Status.UNKNOWN,
    response: Buffer.alloc(0),
    message: err.details ?? '',
    statusDetails: Buffer.isBuffer(details) ? details : Buffer.alloc(0),
    headers: {},
  };
}

function write(stream: ServerStream, a: ExchangeResponse): void {
  // A caller that went away gets nothing: its calls failed on its side already.
  if (!stream.cancelled && stream.writable) stream.write(a);
}
