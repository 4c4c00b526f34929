// Waiting-room tokens as the gateway checks them on booking routes, without a call to the queue:
// the queue hands out a signed ACTIVE pass with every answer that shows a token ACTIVE (issue,
// status poll, ValidateToken); the gateway keeps it until the token's end and drops it at once
// when the queue announces the token ended (endedTokens.ts). A token with no pass kept is asked
// of the queue, whose answer reaches the client unchanged. A pass is kept only if the feed has
// been up since before it was signed: otherwise an end announced meanwhile may have been missed.
import type { KeyObject } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { DomainError } from '../lib/errors';
import { asDomainError, isServiceError } from '../lib/grpc/status';
import { readPass, tokenHash, tokenIdOf, type ActivePass } from '../lib/trust/activePass';
import type { EndUser } from '../lib/trust/caller';
import type { AsyncClient } from '../lib/grpc/client';
import type { QueueServiceService } from '../gen/boxoffice/queue/v1/queue';

export type QueueClient = Pick<AsyncClient<typeof QueueServiceService>, 'validateToken'>;

/** Past this many passes (or ended ids) the oldest are forgotten: memory stays bounded. */
const MAX_KEPT = 100_000;
/** A pass stops counting this long before its end, for clock skew between gateway and Redis. */
const SKEW_MS = 1_000;

export class ActiveTokens {
  /** Passes by token id (the part before the dot). */
  private readonly passes = new Map<string, ActivePass>();
  /** Ids announced ended, and until when: a pass still in flight for one must not be kept. */
  private readonly ended = new Map<string, number>();
  /** Since when the feed has been up without a break; undefined while it is down. */
  private feedUpSince: number | undefined;

  constructor(
    private readonly queue: QueueClient,
    /** The queue's public key: only its passes count. */
    private readonly queueKey: KeyObject,
    /** How long an ended id is remembered: longer than any call to the queue can take. */
    private readonly endedMemoryMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The ended-token feed is subscribed: from now on no end goes unannounced. */
  feedUp(): void {
    this.feedUpSince ??= this.now();
  }

  /** The feed is down: an end may go unannounced, so no pass counts until it is back. */
  feedDown(): void {
    this.feedUpSince = undefined;
    this.passes.clear();
  }

  /** A pass the queue handed out with an answer (ACTIVE_PASS_HEADER): kept if it is good. */
  offer(pass: string): void {
    const checked = readPass(pass, this.queueKey);
    if (checked) this.keep(checked);
  }

  onEnded(id: string): void {
    this.passes.delete(id);
    bounded(this.ended).set(id, this.now() + this.endedMemoryMs);
  }

  /** Forgets passes past their end and ended ids past any call still in flight. */
  sweep(): void {
    const now = this.now();
    for (const [id, pass] of this.passes)
      if (pass.expiresAt - SKEW_MS <= now) this.passes.delete(id);
    for (const [id, until] of this.ended) if (until <= now) this.ended.delete(id);
  }

  /** How many passes are kept (a gauge for the operator, and for tests). */
  get kept(): number {
    return this.passes.size;
  }

  /**
   * Resolves when the token is ACTIVE and the user's. A token ended by the payment of the
   * reservation `paid()` names still resolves: that is a repeat of the payment, which the
   * coordinator answers. Otherwise the queue's refusal, exactly as the queue words it.
   */
  async require(
    token: string,
    user: EndUser,
    metadata: () => Metadata,
    paid?: () => Promise<string | undefined>,
  ): Promise<void> {
    const id = tokenIdOf(token);
    const hash = tokenHash(token);
    const held = this.passes.get(id);
    if (
      held &&
      held.tokenHash === hash &&
      held.userId === user.userId &&
      held.expiresAt - SKEW_MS > this.now()
    )
      return;
    let pass: string;
    try {
      ({ pass } = await this.queue.validateToken({ token }, { metadata: metadata() }));
    } catch (err) {
      const refused = isServiceError(err) ? asDomainError(err) : undefined;
      const { endedBy, reservationId } = refused?.metadata ?? {};
      if (
        refused?.reason === 'QUEUE_TOKEN_EXPIRED' &&
        endedBy === 'payment' &&
        reservationId &&
        paid &&
        (await paid()) === reservationId
      )
        return;
      throw err;
    }
    const checked = readPass(pass, this.queueKey);
    if (!checked || checked.tokenHash !== hash || checked.userId !== user.userId)
      throw new DomainError('UNAVAILABLE', 'the waiting room answered with no valid pass');
    this.keep(checked);
  }

  /**
   * Keeps a pass while the feed has been up since before the queue signed it (less the clock
   * skew), so no end of its token can have gone unannounced, and its token was not announced
   * ended meanwhile.
   */
  private keep(pass: ActivePass): void {
    const since = this.feedUpSince;
    if (since === undefined || since > pass.issuedAt - SKEW_MS) return;
    if (this.ended.has(pass.tokenId) || pass.expiresAt - SKEW_MS <= this.now()) return;
    bounded(this.passes).set(pass.tokenId, pass);
  }
}

function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= MAX_KEPT) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  return map;
}
