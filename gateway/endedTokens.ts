// The feed of waiting-room tokens the queue ends before their time (a payment, an operator),
// pushed over Redis pub/sub into the gateway's ActiveTokens. Every gateway instance subscribes,
// so each drops its pass of an ended token as soon as the queue publishes the end.
// Subscribed by hand on every (re)connect: only once SUBSCRIBE has answered is the feed up, and
// from the moment the connection drops it is down (ioredis reports `ready` before its own
// resubscription has answered, so it cannot tell us that).
import Redis from 'ioredis';
import type { Logger } from '../lib/log';
import { ENDED_TOKENS_CHANNEL, endedTokenId } from '../lib/trust/activePass';
import type { ActiveTokens } from './activeTokens';

/** At most one warning per this long while Redis stays unreachable. */
const WARN_EVERY_MS = 30_000;

export class EndedTokenFeed {
  private readonly redis: Redis;
  private readonly channel: string;
  private lastWarning = 0;

  constructor(
    url: string,
    keyPrefix: string,
    private readonly tokens: ActiveTokens,
    private readonly log: Logger,
  ) {
    this.channel = keyPrefix + ENDED_TOKENS_CHANNEL;
    this.redis = new Redis(url, {
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      // Named for the operator's CLIENT LIST: which connections are gateways listening.
      connectionName: `${this.channel}-listener`,
      // CLIENT SETINFO is not among the few commands its Redis user may run (docs/kubernetes.md).
      disableClientInfo: true,
    });
    this.redis.on('ready', () => void this.subscribe());
    this.redis.on('close', () => this.tokens.feedDown());
    this.redis.on('error', (err: Error) => this.warn(err));
    this.redis.on('message', (channel: string, message: string) => {
      const id = channel === this.channel ? endedTokenId(message) : undefined;
      if (id !== undefined) this.tokens.onEnded(id);
    });
  }

  close(): void {
    this.tokens.feedDown();
    this.redis.disconnect();
  }

  private async subscribe(): Promise<void> {
    try {
      await this.redis.subscribe(this.channel);
      this.tokens.feedUp();
    } catch (err) {
      // The connection dropped meanwhile; its next `ready` subscribes again.
      this.warn(err as Error);
    }
  }

  private warn(err: Error): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.log.warn(
      { err: err.message },
      'ended-token feed unavailable: every booking call asks the queue until it is back',
    );
  }
}
