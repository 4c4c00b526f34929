// Typed promise clients over ts-proto service definitions: one channel per target shared by
// every client, keepalive, a deadline on every call, and on every call the caller's identity
// (a token its own key signed, docs/trust.md).
import { Channel, Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CALLER_METADATA, type CallerSigner } from '../trust/caller';
import { MuxChannel } from './mux';

type MethodDef = {
  path: string;
  requestSerialize: (v: never) => Buffer;
  responseDeserialize: (b: Buffer) => unknown;
};

/** How a client's calls travel: each its own unary call, or all on one mux stream (mux.ts). */
export type Transport = 'unary' | 'mux';
type ReqOf<M> = M extends { requestSerialize: (v: infer R) => Buffer } ? R : never;
type ResOf<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

export interface CallOptions {
  /** Milliseconds; the client's default applies when unset. */
  deadlineMs?: number;
  metadata?: Metadata;
}

export type AsyncClient<S> = {
  [K in keyof S]: (request: ReqOf<S[K]>, options?: CallOptions) => Promise<ResOf<S[K]>>;
};

export const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  // A restarted peer is reached within a second: by default the reconnect backoff grows to
  // minutes, and calls fail fast meanwhile although the peer is back (seen in the crash suite).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  // No channelz service is exposed; its per-call bookkeeping costs CPU on every call.
  'grpc.enable_channelz': 0,
  // A call is sent once: a lost one is the caller's to repeat (a branch call is repeated only
  // under its barrier). grpc-js's transparent retry would replay a mux stream's buffered calls
  // on a new connection, after the old server may have run them.
  'grpc.enable_retries': 0,
};

/** Channels by target, shared by every client of this process (one connection per target). */
export class ChannelPool {
  private readonly channels = new Map<string, Channel>();
  private readonly clients: Client[] = [];
  private readonly muxes = new Map<string, MuxChannel>();

  constructor(private readonly defaultDeadlineMs: number) {}

  /**
   * A client of `definition` at `target`, calling as the signer's identity (unless a call's
   * metadata already names its caller, as the gateway's do with the end user in them).
   */
  client<S extends Record<string, MethodDef>>(
    definition: S,
    target: string,
    as: CallerSigner,
    deadlineMs = this.defaultDeadlineMs,
    transport: Transport = 'unary',
  ): AsyncClient<S> {
    const raw = new Client(target, credentials.createInsecure(), {
      channelOverride: this.channel(target),
    });
    this.clients.push(raw);
    const send = transport === 'mux' ? this.muxCall(raw, target, as) : unaryCall(raw);
    const out: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(definition)) {
      out[name] = async (request: unknown, options: CallOptions = {}) => {
        const metadata = options.metadata ?? new Metadata();
        if (metadata.get(CALLER_METADATA).length === 0) metadata.set(CALLER_METADATA, as.token());
        return send(def, request, metadata, options.deadlineMs ?? deadlineMs);
      };
    }
    return out as AsyncClient<S>;
  }

  private channel(target: string): Channel {
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new Channel(target, credentials.createInsecure(), CHANNEL_OPTIONS);
      this.channels.set(target, channel);
    }
    return channel;
  }

  /** Calls on the target's one mux stream, shared by every mux client of that target. */
  private muxCall(raw: Client, target: string, as: CallerSigner): Send {
    let mux = this.muxes.get(target);
    if (!mux) {
      mux = new MuxChannel(raw, () => signedBy(as), target);
      this.muxes.set(target, mux);
    }
    const channel = mux;
    return async (def, request, metadata, deadlineMs) => {
      const { response } = await channel.call(
        def.path,
        (def.requestSerialize as (v: unknown) => Buffer)(request),
        metadata,
        deadlineMs,
      );
      return def.responseDeserialize(response);
    };
  }

  close(): void {
    for (const m of this.muxes.values()) m.close();
    this.muxes.clear();
    for (const c of this.clients) c.close();
    for (const ch of this.channels.values()) ch.close();
    this.channels.clear();
    this.clients.length = 0;
  }
}

type Send = (
  def: MethodDef,
  request: unknown,
  metadata: Metadata,
  deadlineMs: number,
) => Promise<unknown>;

function unaryCall(raw: Client): Send {
  return (def, request, metadata, deadlineMs) =>
    new Promise((resolve, reject) => {
      raw.makeUnaryRequest(
        def.path,
        def.requestSerialize as (v: unknown) => Buffer,
        def.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + deadlineMs },
        (err: ServiceError | null, res?: unknown) => (err ? reject(err) : resolve(res)),
      );
    });
}

/** Metadata naming its caller by a fresh token of `as`: what opens a mux stream. */
export function signedBy(as: CallerSigner): Metadata {
  const md = new Metadata();
  md.set(CALLER_METADATA, as.token());
  return md;
}
