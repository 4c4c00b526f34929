// Test users who act through the gateway like real clients: a JWT, points, an active
// waiting-room token, and the booking calls of docs/api.md.
import { expect } from 'chai';
import { loadConfig, type DbServiceName } from '../../lib/config';
import { serverConnection } from '../../lib/db';
import { audit, report, type AuditOptions } from '../../ops/audit';
import { jwtFor } from './jwt';
import type { ApiResponse, Mesh } from './mesh';

export function reason(res: ApiResponse): string | undefined {
  return res.body?.details?.[0]?.reason;
}

export function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

export class Person {
  queueToken = '';

  constructor(
    readonly mesh: Mesh,
    readonly id: string,
    readonly jwt: string,
  ) {}

  static async join(mesh: Mesh, id: string, points = 0): Promise<Person> {
    const p = new Person(mesh, id, await jwtFor(id));
    if (points > 0) await p.charge(points);
    await p.enterQueue();
    return p;
  }

  async enterQueue(): Promise<void> {
    const res = await this.mesh.request('POST', '/api/v1/queue/tokens', {
      token: this.jwt,
      body: {},
    });
    expect(res.body.status, `${this.id} is not admitted: ${JSON.stringify(res.body)}`).to.equal(
      'ACTIVE',
    );
    this.queueToken = res.body.token;
  }

  /**
   * After a payment: its ReservationCompleted event ends the token shortly after the answer, not
   * with it. Waits for that, then takes a new token, as a returning client would.
   */
  async reenterQueueAfterPaying(): Promise<void> {
    await this.tokenEndedByPayment();
    await this.enterQueue();
  }

  /** Waits until the payment's event has ended the token (shortly after the answer). */
  async tokenEndedByPayment(): Promise<void> {
    const old = await eventually(
      () =>
        this.mesh.request('GET', '/api/v1/queue/status', {
          token: this.jwt,
          queueToken: this.queueToken,
        }),
      (r) => r.status !== 200,
    );
    expect([old.status, reason(old)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
  }

  async charge(amount: number): Promise<void> {
    const res = await this.chargeRequest(amount);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  }

  /** A charge whatever it answers, for tests of its refusals and repeats. */
  chargeRequest(amount: number, idempotencyKey?: string): Promise<ApiResponse> {
    return this.mesh.request('POST', '/api/v1/points/charge', {
      token: this.jwt,
      body: { amount },
      headers: keyHeader(idempotencyKey),
    });
  }

  async balance(): Promise<number> {
    return (await this.mesh.request('GET', `/api/v1/points/${this.id}`, { token: this.jwt })).body
      .balance;
  }

  reserve(
    concertId: string,
    date: string,
    seatNumber: number,
    idempotencyKey?: string,
  ): Promise<ApiResponse> {
    return this.mesh.request('POST', '/api/v1/reservations', {
      token: this.jwt,
      queueToken: this.queueToken,
      body: { concertId, date, seatNumber },
      headers: keyHeader(idempotencyKey),
    });
  }

  pay(reservationId: string, idempotencyKey?: string): Promise<ApiResponse> {
    return this.mesh.request('POST', '/api/v1/payments', {
      token: this.jwt,
      queueToken: this.queueToken,
      body: { reservationId },
      headers: keyHeader(idempotencyKey),
    });
  }

  refund(paymentId: string, idempotencyKey?: string): Promise<ApiResponse> {
    return this.mesh.request('POST', `/api/v1/payments/${paymentId}/refund`, {
      token: this.jwt,
      body: {},
      headers: keyHeader(idempotencyKey),
    });
  }

  reservation(reservationId: string): Promise<ApiResponse> {
    return this.mesh.request('GET', `/api/v1/reservations/${reservationId}`, { token: this.jwt });
  }

  async seats(concertId: string, date: string): Promise<{ seatNumber: number; status: string }[]> {
    const res = await this.mesh.request(
      'GET',
      `/api/v1/concerts/${concertId}/dates/${date}/seats`,
      {
        token: this.jwt,
        queueToken: this.queueToken,
      },
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body.seats;
  }
}

/** The Idempotency-Key header of a money- or seat-moving request, when it sends one. */
function keyHeader(idempotencyKey: string | undefined): Record<string, string> {
  return idempotencyKey ? { 'idempotency-key': idempotencyKey } : {};
}

export async function createConcert(mesh: Mesh, body: Record<string, unknown>): Promise<string> {
  const res = await mesh.request('POST', '/api/v1/admin/concerts', {
    token: await jwtFor('admin', { admin: true }),
    body,
  });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.concertId;
}

export interface SeatRow {
  status: 'AVAILABLE' | 'HELD' | 'SOLD';
  /** The reservation holding or owning the seat; null when AVAILABLE. */
  heldBy: string | null;
}

/** The seats of a concert's date as the concert service keeps them, by seat number. */
export async function seatRows(
  mesh: Mesh,
  concertId: string,
  date: string,
): Promise<Map<number, SeatRow>> {
  const rows = await sql<{
    seat_number: number;
    status: SeatRow['status'];
    held_by: string | null;
  }>(
    mesh,
    'concert',
    `SELECT s.seat_number, s.status, s.held_by FROM seat s JOIN schedule d ON d.id = s.schedule_id
     WHERE d.concert_id = ? AND d.date = ?`,
    [concertId, date],
  );
  return new Map(rows.map((r) => [r.seat_number, { status: r.status, heldBy: r.held_by }]));
}

/** Rows straight from a service's database, for exact counts the API does not expose. */
export async function sql<T = Record<string, unknown>>(
  mesh: Mesh,
  service: DbServiceName,
  query: string,
  params: unknown[] = [],
): Promise<T[]> {
  const cfg = loadConfig(mesh.env).db[service];
  const conn = await serverConnection(cfg, { database: cfg.database });
  try {
    const [rows] = await conn.query(query, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

/**
 * The end of a suite: the invariants hold, and the mesh goes — also when they do not, since its
 * processes would otherwise keep mocha alive.
 */
export async function auditAndDestroy(mesh: Mesh | undefined): Promise<void> {
  try {
    if (mesh) await expectInvariants(mesh);
  } finally {
    await mesh?.destroy();
  }
}

/**
 * Waits until the mesh is quiet (no open transaction), then asserts every invariant: the core
 * ones, and those `opts` adds (the event pipeline's, the mock's record).
 */
export async function expectInvariants(
  mesh: Mesh,
  opts: AuditOptions = {},
  quietMs = 20_000,
): Promise<void> {
  const until = Date.now() + quietMs;
  let checks = await audit(loadConfig(mesh.env), opts);
  while (!checks.every((c) => c.ok) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    checks = await audit(loadConfig(mesh.env), opts);
  }
  expect(
    checks.every((c) => c.ok),
    report(checks),
  ).to.equal(true);
}

export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}
