// Test users who act through the gateway like real clients: a JWT, points, an active
// waiting-room token, and the booking calls of docs/api.md.
import { expect } from 'chai';
import { loadConfig, type DbServiceName } from '../../lib/config';
import { serverConnection } from '../../lib/db';
import { audit, report } from '../../ops/audit';
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
    const old = await eventually(
      () =>
        this.mesh.request('GET', '/api/v1/queue/status', {
          token: this.jwt,
          queueToken: this.queueToken,
        }),
      (r) => r.status !== 200,
    );
    expect([old.status, reason(old)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
    await this.enterQueue();
  }

  async charge(amount: number): Promise<void> {
    const res = await this.mesh.request('POST', '/api/v1/points/charge', {
      token: this.jwt,
      body: { amount },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
  }

  async balance(): Promise<number> {
    return (await this.mesh.request('GET', `/api/v1/points/${this.id}`, { token: this.jwt })).body
      .balance;
  }

  reserve(concertId: string, date: string, seatNumber: number): Promise<ApiResponse> {
    return this.mesh.request('POST', '/api/v1/reservations', {
      token: this.jwt,
      queueToken: this.queueToken,
      body: { concertId, date, seatNumber },
    });
  }

  pay(reservationId: string, idempotencyKey?: string): Promise<ApiResponse> {
    return this.mesh.request('POST', '/api/v1/payments', {
      token: this.jwt,
      queueToken: this.queueToken,
      body: { reservationId },
      headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    });
  }

  refund(paymentId: string): Promise<ApiResponse> {
    return this.mesh.request('POST', `/api/v1/payments/${paymentId}/refund`, {
      token: this.jwt,
      body: {},
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

export async function createConcert(mesh: Mesh, body: Record<string, unknown>): Promise<string> {
  const res = await mesh.request('POST', '/api/v1/admin/concerts', {
    token: await jwtFor('admin', { admin: true }),
    body,
  });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body.concertId;
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

/** Waits until the mesh is quiet (no open transaction), then asserts every invariant. */
export async function expectInvariants(mesh: Mesh, quietMs = 20_000): Promise<void> {
  const until = Date.now() + quietMs;
  let checks = await audit(loadConfig(mesh.env));
  while (!checks.every((c) => c.ok) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    checks = await audit(loadConfig(mesh.env));
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
