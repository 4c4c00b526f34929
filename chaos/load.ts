// The background load of a chaos run: virtual users who book through the gateway as clients
// would — enter the waiting room, hold a seat, pay (with an Idempotency-Key, so a retry after
// an unknown outcome is safe), sometimes refund, sometimes leave the hold to expire, and some
// with too few points. Every process may die under them: 5xx, resets and timeouts are retried
// with backoff, a refused queue token sends the user back to the waiting room.
import { signAccessToken } from '../gateway/auth';
import { askAgain, field, unknownOutcome, type Answer, type Gateway } from './client';
import type { Rng } from './random';

export interface World {
  concertId: string;
  dates: string[];
  seatsPerDate: number;
  price: number;
}

export interface LoadOptions {
  vus: number;
  /** Users with plenty of points per virtual user (each virtual user also has one poor user). */
  richPerVu: number;
  /** Share of journeys made by a user whose points cannot pay a seat. */
  poorShare: number;
  /** Share of holds left unpaid, to expire. */
  abandonShare: number;
  /** Share of payments refunded afterwards. */
  refundShare: number;
  /** How long one call keeps retrying an unknown outcome before the journey gives it up. */
  retryBudgetMs: number;
}

export const DEFAULT_LOAD: LoadOptions = {
  vus: 6,
  richPerVu: 2,
  poorShare: 0.1,
  abandonShare: 0.15,
  refundShare: 0.25,
  retryBudgetMs: 30_000,
};

const OPS = ['queue', 'reserve', 'pay', 'lookup', 'refund'] as const;
type Op = (typeof OPS)[number];

interface User {
  id: string;
  jwt: string;
  poor: boolean;
  queueToken: string;
}

export interface LoadStats {
  journeys: number;
  reserved: number;
  /** Reserve answered 409 SEAT_UNAVAILABLE (someone else's seat, or our own earlier try). */
  seatTaken: number;
  paid: number;
  insufficientPoints: number;
  abandoned: number;
  refunded: number;
  /** Payments found CONFIRMED by a lookup after unknown answers. */
  payLookedUp: number;
  /** Payments tried again under a new Idempotency-Key after the first kept answering 5xx. */
  payNewKey: number;
  /** Definite refusals other than the expected ones, by op and reason. */
  refused: Record<string, number>;
  /** Answers that said nothing (5xx, no answer), by op and status or error: each was retried. */
  unknown: Record<string, number>;
  /** Calls given up after the retry budget. */
  gaveUp: number;
}

/** What the clients were told, to compare with the databases once the run is quiet. */
export interface ClientRecord {
  /** Payments answered 201 (or found CONFIRMED after an unknown answer) and never refunded. */
  paid: Set<string>;
  /** Payments whose refund was answered 200 (or 409 PAYMENT_ALREADY_REFUNDED after a retry). */
  refunded: Set<string>;
  /** Answers no client should ever get (a user who cannot afford a seat paid for one). */
  anomalies: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isQueueRefusal(a: Answer): boolean {
  return (a.status === 401 || a.status === 403) && /^QUEUE_TOKEN_/.test(a.reason ?? '');
}

export class Load {
  readonly stats: LoadStats = {
    journeys: 0,
    reserved: 0,
    seatTaken: 0,
    paid: 0,
    insufficientPoints: 0,
    abandoned: 0,
    refunded: 0,
    payLookedUp: 0,
    payNewKey: 0,
    refused: {},
    unknown: {},
    gaveUp: 0,
  };
  readonly record: ClientRecord = { paid: new Set(), refunded: new Set(), anomalies: [] };
  private readonly inFlight = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;
  private stopping = false;
  private vus: Promise<void>[] = [];

  constructor(
    private readonly gw: Gateway,
    private readonly world: World,
    /** Per virtual user: its rich users, then its poor one. */
    private readonly users: User[][],
    private readonly rng: Rng,
    private readonly opts: LoadOptions,
  ) {}

  /** Makes the users (JWTs, points) through the gateway, before any fault. */
  static async prepare(
    gw: Gateway,
    world: World,
    rng: Rng,
    opts: LoadOptions,
    jwtSecret: string,
    label: string,
  ): Promise<Load> {
    const users: User[][] = [];
    for (let v = 0; v < opts.vus; v++) {
      const mine: User[] = [];
      for (let k = 0; k <= opts.richPerVu; k++) {
        const poor = k === opts.richPerVu;
        const id = `${label}-v${v}-${poor ? 'poor' : `u${k}`}`;
        const jwt = await signAccessToken(jwtSecret, {
          userId: id,
          admin: false,
          ttlSeconds: 86_400,
        });
        const user = { id, jwt, poor, queueToken: '' };
        // Poor users can never pay a seat; rich ones can pay for every seat of the run.
        const points = poor ? Math.max(1, Math.floor(world.price / 3)) : 1_000_000;
        const charged = await gw.call('POST', '/api/v1/points/charge', {
          token: jwt,
          body: { amount: points },
        });
        if (charged.status !== 200)
          throw new Error(
            `charging ${id} answered ${charged.status}: ${JSON.stringify(charged.body)}`,
          );
        mine.push(user);
      }
      users.push(mine);
    }
    return new Load(gw, world, users, rng, opts);
  }

  start(): void {
    this.vus = this.users.map((mine, v) => this.runVu(mine, this.rng.fork(`vu${v}`)));
  }

  /** Lets every journey finish (each retry loop ends within the retry budget), then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.vus);
  }

  /** Calls waiting for an answer right now, by op (for the fault log). */
  inFlightSummary(): string {
    return OPS.filter((op) => this.inFlight[op] > 0)
      .map((op) => `${op}=${this.inFlight[op]}`)
      .join(' ');
  }

  private async runVu(mine: User[], rng: Rng): Promise<void> {
    const rich = mine.filter((u) => !u.poor);
    const poor = mine.find((u) => u.poor)!;
    while (!this.stopping) {
      const user = rng.chance(this.opts.poorShare) ? poor : rng.pick(rich);
      this.stats.journeys++;
      try {
        await this.journey(user, rng);
      } catch (err) {
        // A journey never throws by design; if it does, count it and keep the load going.
        this.count(this.stats.refused, 'journey', err instanceof Error ? err.message : String(err));
      }
      await sleep(rng.int(0, 100));
    }
  }

  private async journey(user: User, rng: Rng): Promise<void> {
    if (!user.queueToken && !(await this.enterQueue(user))) return;
    let reservationId = '';
    for (let tries = 0; tries < 5 && !reservationId; tries++) {
      const body = {
        concertId: this.world.concertId,
        date: rng.pick(this.world.dates),
        seatNumber: rng.int(1, this.world.seatsPerDate),
      };
      const a = await this.call('reserve', user, () =>
        this.gw.call('POST', '/api/v1/reservations', {
          token: user.jwt,
          queueToken: user.queueToken,
          body,
        }),
      );
      if (a.status === 201) reservationId = field(a, 'reservationId');
      else if (a.status === 409 && a.reason === 'SEAT_UNAVAILABLE') this.stats.seatTaken++;
      else return this.refusedOrGaveUp('reserve', a);
    }
    if (!reservationId) return;
    this.stats.reserved++;
    if (!user.poor && rng.chance(this.opts.abandonShare)) {
      this.stats.abandoned++;
      return;
    }
    const paymentId = await this.payFor(user, reservationId);
    if (!paymentId) return;
    this.record.paid.add(paymentId);
    if (user.poor)
      this.record.anomalies.push(`${user.id} cannot afford a seat but paid ${paymentId}`);
    if (!rng.chance(this.opts.refundShare)) return;
    const refund = await this.call('refund', user, () =>
      this.gw.call('POST', `/api/v1/payments/${paymentId}/refund`, { token: user.jwt, body: {} }),
    );
    // 409 after an unknown answer: our own earlier attempt went through.
    if (
      refund.status === 200 ||
      (refund.status === 409 && refund.reason === 'PAYMENT_ALREADY_REFUNDED')
    ) {
      this.stats.refunded++;
      this.record.paid.delete(paymentId);
      this.record.refunded.add(paymentId);
    } else this.refusedOrGaveUp('refund', refund);
  }

  /**
   * Pays a hold. An unknown answer is retried under the same Idempotency-Key, which is safe: it
   * returns the first outcome (or runs again when that attempt was aborted as UNAVAILABLE and so
   * changed nothing). When that keeps answering 5xx, the client pays again under a new key, as
   * docs/api.md allows: the reservation's PAYING lock refuses a second payment
   * (RESERVATION_ALREADY_PAID) while an earlier one may still run or has succeeded.
   */
  private async payFor(user: User, reservationId: string): Promise<string | undefined> {
    const until = Date.now() + this.opts.retryBudgetMs;
    for (let key = 1; Date.now() < until; key++) {
      if (key > 1) this.stats.payNewKey++;
      const a = await this.call(
        'pay',
        user,
        () =>
          this.gw.call('POST', '/api/v1/payments', {
            token: user.jwt,
            queueToken: user.queueToken,
            body: { reservationId },
            headers: { 'idempotency-key': `chaos-${reservationId}-${key}` },
          }),
        3,
      );
      if (a.status === 201) {
        this.stats.paid++;
        return field(a, 'paymentId');
      }
      if (a.status === 400 && a.reason === 'INSUFFICIENT_POINTS') {
        this.stats.insufficientPoints++;
        return undefined;
      }
      if (a.status === 409 && a.reason === 'RESERVATION_ALREADY_PAID' && key > 1) {
        const paid = await this.awaitConfirmed(user, reservationId, 10_000);
        if (paid) return paid;
        continue;
      }
      if (!askAgain(a)) {
        this.count(this.stats.refused, 'pay', a.reason ?? String(a.status));
        return undefined;
      }
    }
    this.stats.gaveUp++;
    return this.awaitConfirmed(user, reservationId, 0);
  }

  /** The payment id once an earlier attempt of ours confirmed the reservation, within waitMs. */
  private async awaitConfirmed(
    user: User,
    reservationId: string,
    waitMs: number,
  ): Promise<string | undefined> {
    const until = Date.now() + waitMs;
    for (;;) {
      const r = await this.call(
        'lookup',
        user,
        () => this.gw.call('GET', `/api/v1/reservations/${reservationId}`, { token: user.jwt }),
        3,
      );
      const status = field(r, 'status');
      if (r.status === 200 && status === 'CONFIRMED' && field(r, 'paymentId')) {
        this.stats.paid++;
        this.stats.payLookedUp++;
        return field(r, 'paymentId');
      }
      if (status === 'EXPIRED' || status === 'CANCELLED' || Date.now() >= until) return undefined;
      await sleep(300);
    }
  }

  private refusedOrGaveUp(op: Op, a: Answer): void {
    if (askAgain(a)) this.stats.gaveUp++;
    else this.count(this.stats.refused, op, a.reason ?? String(a.status));
  }

  /**
   * One call, retried while its outcome is unknown (the request may or may not have run; every
   * retried call here is safe to repeat) or the queue token was refused, within the budget.
   */
  private async call(
    op: Op,
    user: User,
    send: () => Promise<Answer>,
    maxUnknown = Infinity,
  ): Promise<Answer> {
    const until = Date.now() + this.opts.retryBudgetMs;
    for (let attempt = 1; ; attempt++) {
      this.inFlight[op]++;
      const a = await send().finally(() => this.inFlight[op]--);
      if (isQueueRefusal(a)) {
        // Ended by our own payment (its event), or the queue service lost it: enter again.
        if (Date.now() > until || !(await this.enterQueue(user))) return a;
        continue;
      }
      if (!askAgain(a)) return a;
      this.count(
        this.stats.unknown,
        op,
        a.status === 0
          ? (a.reason ?? 'no answer')
          : a.status >= 500
            ? a.status
            : `${a.status} ${a.reason}`,
      );
      if (Date.now() > until || attempt >= maxUnknown) return a;
      // Jitter from Math.random: timing only, so the seeded decisions do not depend on retries.
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  }

  /** Takes an ACTIVE waiting-room token (admission is immediate while there is room). */
  private async enterQueue(user: User): Promise<boolean> {
    const until = Date.now() + this.opts.retryBudgetMs;
    for (let attempt = 0; Date.now() < until; attempt++) {
      this.inFlight.queue++;
      const a = await this.gw
        .call('POST', '/api/v1/queue/tokens', { token: user.jwt, body: {} })
        .finally(() => this.inFlight.queue--);
      if (a.status === 200 || a.status === 201) {
        user.queueToken = field(a, 'token');
        if (field(a, 'status') === 'ACTIVE') return true;
      } else if (!unknownOutcome(a)) {
        this.count(this.stats.refused, 'queue', a.reason ?? String(a.status));
        return false;
      } else this.count(this.stats.unknown, 'queue', a.status === 0 ? (a.reason ?? '') : a.status);
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    }
    this.stats.gaveUp++;
    return false;
  }

  private count(map: Record<string, number>, op: string, what: string | number): void {
    const key = `${op} ${what}`;
    map[key] = (map[key] ?? 0) + 1;
  }
}
