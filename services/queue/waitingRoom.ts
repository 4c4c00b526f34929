// The queue's use cases: the waiting room on Redis. Every use case is one Lua script (see
// data/scripts.ts for the key layout and why), so several queue instances can share one Redis
// and still agree.
import type { Config } from '../../lib/config';
import type { Redis } from '../../lib/redis';
import { ADMISSION_WINDOW_SECONDS, estimateWaitSeconds } from './domain/estimate';
import {
  PROCESSED_EVENT_MEMORY_MS,
  TOKEN_MEMORY_MS,
  assertUserId,
  mintToken,
  refusal,
  tokenFor,
  tokenIdOf,
  type TokenRefusal,
  type TokenState,
} from './domain/token';
import { SCRIPTS, type ScriptName } from './data/scripts';

export type WaitingRoomSettings = Config['queue'];

/** Tokens admitted per script call; a tick repeats calls while they come back full. */
const ADMIT_BATCH = 1000;

export interface IssuedToken {
  token: string;
  status: TokenState;
  /** 0 when ACTIVE, else the 1-based place in line. */
  position: number;
  /** ACTIVE: end of life; WAITING: when it leaves the line unless polled. */
  expiresAt: Date;
  /** True when the user already held this token (the API then answers 200, not 201). */
  existing: boolean;
  /** Issue number: strict issue order (for tests and logs). */
  ticket: number;
}

export interface TokenStatusView {
  status: TokenState;
  position: number;
  estimatedWaitSeconds: number;
  expiresAt: Date;
}

/** What one event did to the user's token: ended it, found none to end, or was seen before. */
export type EventEffect = 'ENDED' | 'NONE' | 'DUPLICATE';

type Script = (...args: (string | number)[]) => Promise<unknown>;

const WAITING = 'queue:waiting';
const ACTIVE = 'queue:active';
const IDLE = 'queue:idle';
const SEQ = 'queue:seq';
const ADMITS = 'queue:admits';
const tokenKey = (id: string) => `queue:token:${id}`;
const userKey = (userId: string) => `queue:user:${userId}`;
const processedKey = (eventId: string) => `queue:processed:${eventId}`;

export class WaitingRoom {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly idleMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly settings: WaitingRoomSettings,
  ) {
    this.prefix = redis.options.keyPrefix ?? '';
    this.ttlMs = settings.activeTtlSeconds * 1000;
    this.idleMs = settings.idleTimeoutSeconds * 1000;
    for (const [name, def] of Object.entries(SCRIPTS)) {
      // defineCommand is per connection and idempotent; EVALSHA with an EVAL fallback.
      redis.defineCommand(name, def);
    }
  }

  /** The user's live token, or a new one at the back of the line (or straight in, if free). */
  async issueToken(userId: string): Promise<IssuedToken> {
    assertUserId(userId);
    const minted = mintToken(this.settings.tokenSecret);
    const [created, id, status, position, deadline, ticket] = (await this.run(
      'queueIssueToken',
      userKey(userId),
      tokenKey(minted.id),
      WAITING,
      ACTIVE,
      IDLE,
      SEQ,
      ADMITS,
      this.prefix,
      minted.id,
      userId,
      this.settings.maxActive,
      this.ttlMs,
      this.idleMs,
      TOKEN_MEMORY_MS,
    )) as [number, string, TokenState, number, number, number];
    return {
      token: created === 1 ? minted.token : tokenFor(id, this.settings.tokenSecret),
      status,
      position,
      expiresAt: new Date(deadline),
      existing: created === 0,
      ticket,
    };
  }

  /** Where a token stands, for its owner; a poll that keeps a waiting token in line. */
  async getStatus(token: string | undefined, userId: string): Promise<TokenStatusView> {
    const id = tokenIdOf(token, this.settings.tokenSecret);
    const reply = (await this.run(
      'queueGetStatus',
      tokenKey(id),
      userKey(userId),
      WAITING,
      ACTIVE,
      IDLE,
      ADMITS,
      id,
      userId,
      this.idleMs,
      TOKEN_MEMORY_MS,
    )) as [TokenState | TokenRefusal, number, number, number, number];
    const [verdict, position, deadline, activeCount, admittedInWindow] = reply;
    if (verdict !== 'ACTIVE' && verdict !== 'WAITING') throw refusal(verdict);
    const { maxActive, activeTtlSeconds, admitIntervalMs } = this.settings;
    return {
      status: verdict,
      position,
      estimatedWaitSeconds: estimateWaitSeconds({
        position,
        activeCount,
        maxActive,
        admittedInWindow,
        windowSeconds: ADMISSION_WINDOW_SECONDS,
        activeTtlSeconds,
        admitIntervalMs,
      }),
      expiresAt: new Date(deadline),
    };
  }

  /**
   * Answers when an ACTIVE token of this user ends; refuses any other, saying for one that its
   * payment ended which reservation it paid. One round trip, read-only.
   */
  async validateToken(token: string, userId: string): Promise<{ expiresAt: Date }> {
    const id = tokenIdOf(token, this.settings.tokenSecret);
    assertUserId(userId);
    const [verdict, ...rest] = (await this.run('queueValidateToken', tokenKey(id), userId)) as
      ['OK', number] | [TokenRefusal, string?, string?];
    if (verdict === 'OK') return { expiresAt: new Date(rest[0] as number) };
    throw refusal(verdict, { endedBy: rest[0] as string, reservationId: rest[1] as string });
  }

  /** Ends the user's live token and frees its slot; false when there was none. */
  async endToken(userId: string): Promise<boolean> {
    assertUserId(userId);
    const ended = await this.run(
      'queueEndToken',
      userKey(userId),
      WAITING,
      ACTIVE,
      IDLE,
      this.prefix,
      TOKEN_MEMORY_MS,
    );
    return ended === 1;
  }

  /**
   * Ends the user's live token for the payment of a reservation, once per event id, and only a
   * token issued before the event occurred: one it got afterwards belongs to a later visit.
   */
  async endTokenForEvent(
    userId: string,
    eventId: string,
    occurredAt: Date,
    reservationId: string,
  ): Promise<EventEffect> {
    assertUserId(userId);
    const result = await this.run(
      'queueEndTokenForEvent',
      userKey(userId),
      WAITING,
      ACTIVE,
      IDLE,
      processedKey(eventId),
      this.prefix,
      TOKEN_MEMORY_MS,
      occurredAt.getTime(),
      PROCESSED_EVENT_MEMORY_MS,
      reservationId,
    );
    return result === 1 ? 'ENDED' : result === 0 ? 'NONE' : 'DUPLICATE';
  }

  /** One admission tick: the earliest waiting tokens fill the free slots. Returns how many. */
  async admitWaiting(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = (await this.run(
        'queueAdmitWaiting',
        WAITING,
        ACTIVE,
        IDLE,
        ADMITS,
        this.prefix,
        this.settings.maxActive,
        this.ttlMs,
        TOKEN_MEMORY_MS,
        ADMIT_BATCH,
      )) as number;
      total += n;
      if (n < ADMIT_BATCH) return total;
    }
  }

  /** Live counts right now (read-only; for tests and logs). */
  async stats(): Promise<{ waiting: number; active: number }> {
    const [waiting, active] = (await this.run('queueStats', WAITING, ACTIVE, IDLE)) as [
      number,
      number,
    ];
    return { waiting, active };
  }

  private run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const script = (this.redis as unknown as Record<ScriptName, Script>)[name];
    return script.call(this.redis, ...args);
  }
}
