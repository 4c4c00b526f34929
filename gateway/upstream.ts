// Untyped unary gRPC calls to the services behind the routes: the gateway encodes and decodes
// with protobufjs itself, so one generic client per target (one channel each) serves every
// route. Unlike ChannelPool clients, these calls expose the response headers (x-http-code)
// and can be cancelled when the HTTP client goes away. Calls to the services named as streamed
// (the coordinator: every booking) travel on one mux stream per target, as the coordinator's
// own branch calls do (lib/grpc/mux.ts): a fraction of a unary call's CPU on both ends.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../lib/grpc/client';
import { MuxChannel } from '../lib/grpc/mux';

export interface Streamed {
  /** The services (by short name) whose calls go on a stream. */
  services: ReadonlySet<string>;
  /** Metadata that opens a stream: the gateway's own signed identity, fresh for each stream. */
  openMetadata: () => Metadata;
}

export interface UnaryResult {
  response: Buffer;
  /** Initial (response-header) metadata. */
  headers: Metadata;
}

export interface UnaryCall {
  result: Promise<UnaryResult>;
  cancel(): void;
}

const passThrough = (b: Buffer): Buffer => b;

export class Upstream {
  private readonly clients = new Map<string, Client>();
  private readonly muxes = new Map<string, MuxChannel>();

  constructor(
    private readonly deadlineMs: number,
    private readonly streamed: Streamed = {
      services: new Set(),
      openMetadata: () => new Metadata(),
    },
  ) {}

  /** A route's call of `path` on `service` at `target`: on a stream when the service's are. */
  call(
    service: string,
    target: string,
    path: string,
    request: Buffer,
    metadata: Metadata,
  ): UnaryCall {
    return this.streamed.services.has(service)
      ? this.onStream(target, path, request, metadata)
      : this.unary(target, path, request, metadata);
  }

  /**
   * Calls `path` on `target` as a unary call, with an already encoded request: health checks
   * always so (a stream carries only the services' own RPCs).
   */
  unary(
    target: string,
    path: string,
    request: Buffer,
    metadata: Metadata,
    deadlineMs = this.deadlineMs,
  ): UnaryCall {
    let headers = new Metadata();
    let call: { cancel(): void } | undefined;
    const result = new Promise<UnaryResult>((resolve, reject) => {
      const c = this.client(target).makeUnaryRequest(
        path,
        passThrough,
        passThrough,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, response?: Buffer) => {
          if (err) reject(err);
          else resolve({ response: response ?? Buffer.alloc(0), headers });
        },
      );
      c.on('metadata', (md: Metadata) => {
        headers = md;
      });
      call = c;
    });
    return { result, cancel: () => call?.cancel() };
  }

  close(): void {
    for (const m of this.muxes.values()) m.close();
    this.muxes.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private onStream(target: string, path: string, request: Buffer, metadata: Metadata): UnaryCall {
    let mux = this.muxes.get(target);
    if (!mux) {
      // On the target's one channel, which its health checks use too: a gateway that reports
      // ready has found that channel connected, for the stream as for unary calls.
      mux = new MuxChannel(this.client(target), this.streamed.openMetadata, target);
      this.muxes.set(target, mux);
    }
    const abort = new AbortController();
    return {
      result: mux.call(path, request, metadata, this.deadlineMs, abort.signal),
      cancel: () => abort.abort(),
    };
  }

  /**
   * The target's one channel, with the mesh's channel options (lib/grpc/client.ts): a restarted
   * service is reached within a second, and no buffered stream call is ever replayed.
   */
  private client(target: string): Client {
    let c = this.clients.get(target);
    if (!c) {
      c = new Client(target, credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(target, c);
    }
    return c;
  }
}
