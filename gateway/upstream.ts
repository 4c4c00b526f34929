// Untyped unary gRPC calls to the services behind the routes: the gateway encodes and decodes
// with protobufjs itself, so one generic client per target (one channel each) serves every
// route. Unlike ChannelPool clients, these calls expose the response headers (x-http-code)
// and can be cancelled when the HTTP client goes away.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
};

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

  constructor(private readonly deadlineMs: number) {}

  /** Calls `path` on `target` with an already encoded request. */
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
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(target: string): Client {
    let c = this.clients.get(target);
    if (!c) {
      c = new Client(target, credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(target, c);
    }
    return c;
  }
}
