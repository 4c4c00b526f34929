// The foundation through the gateway, as a client sees it: health, docs, admin concert
// creation, the catalog behind the waiting room, and points.
import { expect } from 'chai';
import { jwtFor } from '../support/jwt';
import { startMesh, type ApiResponse, type Mesh } from '../support/mesh';

function reason(res: ApiResponse): string | undefined {
  return res.body?.details?.[0]?.reason;
}

function isoDay(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

describe('catalog and points through the gateway', function () {
  this.timeout(120_000);
  let mesh: Mesh;
  let admin: string;
  let alice: string;
  let bob: string;

  before(async () => {
    mesh = await startMesh();
    admin = await jwtFor('admin1', { admin: true });
    alice = await jwtFor('alice');
    bob = await jwtFor('bob');
  });
  after(async () => mesh?.destroy());

  async function activeToken(jwt: string): Promise<string> {
    const res = await mesh.request('POST', '/api/v1/queue/tokens', { token: jwt, body: {} });
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
    expect(res.body.status).to.equal('ACTIVE');
    return res.body.token as string;
  }

  describe('health and docs', () => {
    it('reports liveness and readiness', async () => {
      expect((await mesh.request('GET', '/healthz')).body).to.deep.equal({ status: 'SERVING' });
      expect((await mesh.request('GET', '/readyz')).status).to.equal(200);
    });

    it('serves an OpenAPI document with every route, and Swagger UI', async () => {
      const doc = await mesh.request('GET', '/docs/openapi.json');
      expect(doc.status).to.equal(200);
      expect(doc.body.openapi).to.match(/^3\./);
      for (const path of [
        '/api/v1/admin/concerts',
        '/api/v1/queue/tokens',
        '/api/v1/queue/status',
        '/api/v1/concerts',
        '/api/v1/concerts/ranking',
        '/api/v1/concerts/{concertId}/dates',
        '/api/v1/concerts/{concertId}/dates/{date}/seats',
        '/api/v1/points/charge',
        '/api/v1/points/{userId}',
        '/api/v1/points/{userId}/history',
      ]) {
        expect(Object.keys(doc.body.paths), path).to.satisfy((ps: string[]) =>
          ps.some((p) => p.replace(/\{[^}]+\}/g, '{}') === path.replace(/\{[^}]+\}/g, '{}')),
        );
      }
      const ui = await mesh.request('GET', '/docs');
      expect(ui.status).to.equal(200);
      expect(String(ui.body)).to.match(/swagger/i);
    });
  });

  describe('admin concerts', () => {
    it('creates a concert with its schedules for an admin', async () => {
      const res = await mesh.request('POST', '/api/v1/admin/concerts', {
        token: admin,
        body: {
          title: 'Winter Gala',
          dates: [isoDay(3), isoDay(2)],
          seatsPerDate: 20,
          price: 15000,
        },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      expect(res.body.title).to.equal('Winter Gala');
      expect(res.body.concertId).to.be.a('string').and.not.equal('');
      expect(res.body.schedules.map((s: any) => [s.date, s.totalSeats])).to.deep.equal([
        [isoDay(2), 20],
        [isoDay(3), 20],
      ]);
    });

    it('refuses a non-admin with 403 ADMIN_ONLY and an anonymous caller with 401', async () => {
      const body = { title: 'X', dates: [isoDay(1)], price: 100 };
      const asUser = await mesh.request('POST', '/api/v1/admin/concerts', { token: alice, body });
      expect([asUser.status, reason(asUser)]).to.deep.equal([403, 'ADMIN_ONLY']);
      const anon = await mesh.request('POST', '/api/v1/admin/concerts', { body });
      expect([anon.status, reason(anon)]).to.deep.equal([401, 'UNAUTHENTICATED']);
      expect(anon.headers.get('www-authenticate')).to.match(/^Bearer/);
    });

    it('names the offending field of an invalid concert and creates nothing', async () => {
      const before = (await mesh.request('GET', '/api/v1/concerts')).body.concerts.length;
      const cases: [Record<string, unknown>, string][] = [
        [{ title: 'A', dates: [isoDay(1)], price: 0 }, 'price'],
        [{ title: 'A', dates: [isoDay(1)], price: 10_000_001 }, 'price'],
        [{ title: 'A', dates: [isoDay(1)], price: 10, seatsPerDate: 501 }, 'seatsPerDate'],
        [{ title: 'A', dates: [isoDay(1), isoDay(1)], price: 10 }, 'dates'],
        [{ title: 'A', dates: ['2026-02-30'], price: 10 }, 'dates'],
        [{ title: 'A', dates: [], price: 10 }, 'dates'],
        [{ title: '', dates: [isoDay(1)], price: 10 }, 'title'],
        [{ title: 'A', dates: [isoDay(1)] }, 'price'],
      ];
      for (const [body, field] of cases) {
        const res = await mesh.request('POST', '/api/v1/admin/concerts', { token: admin, body });
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(reason(res)).to.equal('INVALID_ARGUMENT');
        expect(res.body.details[0].metadata.field, JSON.stringify(body)).to.equal(field);
      }
      expect((await mesh.request('GET', '/api/v1/concerts')).body.concerts.length).to.equal(before);
    });
  });

  describe('catalog', () => {
    let concertId: string;
    let laterId: string;

    before(async () => {
      const open = await mesh.request('POST', '/api/v1/admin/concerts', {
        token: admin,
        body: { title: 'Open Air', dates: [isoDay(5), isoDay(4)], seatsPerDate: 50, price: 10000 },
      });
      concertId = open.body.concertId;
      const later = await mesh.request('POST', '/api/v1/admin/concerts', {
        token: admin,
        body: {
          title: 'Not Yet',
          dates: [isoDay(30)],
          price: 500,
          bookingOpensAt: new Date(Date.now() + 86_400_000).toISOString(),
        },
      });
      laterId = later.body.concertId;
    });

    it('lists concerts publicly', async () => {
      const res = await mesh.request('GET', '/api/v1/concerts');
      expect(res.status).to.equal(200);
      expect(res.body.concerts).to.deep.include({ concertId, title: 'Open Air' });
    });

    it('serves an empty ranking before any sale, and bounds its limit', async () => {
      const res = await mesh.request('GET', '/api/v1/concerts/ranking?limit=10');
      expect([res.status, res.body]).to.deep.equal([200, { rankings: [] }]);
      const bad = await mesh.request('GET', '/api/v1/concerts/ranking?limit=0');
      expect([bad.status, reason(bad)]).to.deep.equal([400, 'INVALID_ARGUMENT']);
    });

    it('lists open dates with seat counts, ascending, behind an active queue token', async () => {
      const qt = await activeToken(alice);
      const res = await mesh.request('GET', `/api/v1/concerts/${concertId}/dates`, {
        token: alice,
        queueToken: qt,
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(
        res.body.dates.map((d: any) => [d.date, d.availableSeats, d.totalSeats]),
      ).to.deep.equal([
        [isoDay(4), 50, 50],
        [isoDay(5), 50, 50],
      ]);
      const closed = await mesh.request('GET', `/api/v1/concerts/${laterId}/dates`, {
        token: alice,
        queueToken: qt,
      });
      expect([closed.status, closed.body]).to.deep.equal([200, { dates: [] }]);
      const unknown = await mesh.request('GET', '/api/v1/concerts/nope/dates', {
        token: alice,
        queueToken: qt,
      });
      expect([unknown.status, reason(unknown)]).to.deep.equal([404, 'CONCERT_NOT_FOUND']);
    });

    it('shows the seat map ordered by seat number', async () => {
      const qt = await activeToken(alice);
      const res = await mesh.request(
        'GET',
        `/api/v1/concerts/${concertId}/dates/${isoDay(4)}/seats`,
        {
          token: alice,
          queueToken: qt,
        },
      );
      expect(res.status).to.equal(200);
      expect(res.body.scheduleId).to.be.a('string');
      expect(res.body.seats.map((s: any) => s.seatNumber)).to.deep.equal(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      expect(
        res.body.seats.every((s: any) => s.status === 'AVAILABLE' && s.price === 10000),
      ).to.equal(true);
      const unknown = await mesh.request(
        'GET',
        `/api/v1/concerts/${concertId}/dates/${isoDay(9)}/seats`,
        {
          token: alice,
          queueToken: qt,
        },
      );
      expect([unknown.status, reason(unknown)]).to.deep.equal([404, 'SCHEDULE_NOT_FOUND']);
    });

    it('refuses booking routes without a valid queue token of the caller', async () => {
      const path = `/api/v1/concerts/${concertId}/dates`;
      const missing = await mesh.request('GET', path, { token: alice });
      expect([missing.status, reason(missing)]).to.deep.equal([401, 'QUEUE_TOKEN_REQUIRED']);
      expect(missing.headers.get('www-authenticate')).to.be.a('string');
      const forged = await mesh.request('GET', path, { token: alice, queueToken: 'not-a-token' });
      expect([forged.status, reason(forged)]).to.deep.equal([401, 'QUEUE_TOKEN_INVALID']);
      const bobs = await activeToken(bob);
      const stolen = await mesh.request('GET', path, { token: alice, queueToken: bobs });
      expect([stolen.status, reason(stolen)]).to.deep.equal([403, 'QUEUE_TOKEN_USER_MISMATCH']);
    });
  });

  describe('points', () => {
    it('charges, reads balance 0 for a newcomer, and keeps history newest first', async () => {
      const carol = await jwtFor('carol');
      expect(
        (await mesh.request('GET', '/api/v1/points/carol', { token: carol })).body,
      ).to.deep.equal({
        userId: 'carol',
        balance: 0,
      });
      const first = await mesh.request('POST', '/api/v1/points/charge', {
        token: carol,
        body: { amount: 3000 },
      });
      expect([first.status, first.body]).to.deep.equal([200, { userId: 'carol', balance: 3000 }]);
      const second = await mesh.request('POST', '/api/v1/points/charge', {
        token: carol,
        body: { userId: 'carol', amount: 500 },
      });
      expect(second.body).to.deep.equal({ userId: 'carol', balance: 3500 });
      const history = await mesh.request('GET', '/api/v1/points/carol/history?limit=50', {
        token: carol,
      });
      expect(history.status).to.equal(200);
      expect(
        history.body.entries.map((e: any) => [e.type, e.amount, e.balanceAfter]),
      ).to.deep.equal([
        ['CHARGE', 500, 3500],
        ['CHARGE', 3000, 3000],
      ]);
      expect(history.body.entries[0].at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    });

    it('lands 100 concurrent charges by one user exactly', async () => {
      const dave = await jwtFor('dave');
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          mesh.request('POST', '/api/v1/points/charge', { token: dave, body: { amount: 100 } }),
        ),
      );
      expect(results.map((r) => r.status).filter((s) => s !== 200)).to.deep.equal([]);
      expect(
        (await mesh.request('GET', '/api/v1/points/dave', { token: dave })).body.balance,
      ).to.equal(10_000);
      const history = await mesh.request('GET', '/api/v1/points/dave/history?limit=100', {
        token: dave,
      });
      expect(history.body.entries).to.have.length(100);
    });

    it('refuses invalid amounts with 400 and changes nothing', async () => {
      const erin = await jwtFor('erin');
      await mesh.request('POST', '/api/v1/points/charge', { token: erin, body: { amount: 10 } });
      for (const amount of [0, -1, 1_000_001]) {
        const res = await mesh.request('POST', '/api/v1/points/charge', {
          token: erin,
          body: { amount },
        });
        expect([res.status, reason(res)], String(amount)).to.deep.equal([400, 'INVALID_AMOUNT']);
      }
      for (const amount of [1.5, 'ten', null, true]) {
        const res = await mesh.request('POST', '/api/v1/points/charge', {
          token: erin,
          body: { amount },
        });
        expect(res.status, String(amount)).to.equal(400);
        expect(res.body.details[0].metadata.field).to.equal('amount');
      }
      expect(
        (await mesh.request('GET', '/api/v1/points/erin', { token: erin })).body.balance,
      ).to.equal(10);
    });

    it('refuses a balance over 100,000,000 with BALANCE_LIMIT_EXCEEDED', async () => {
      const frank = await jwtFor('frank');
      for (let i = 0; i < 100; i++) {
        await mesh.request('POST', '/api/v1/points/charge', {
          token: frank,
          body: { amount: 1_000_000 },
        });
      }
      const over = await mesh.request('POST', '/api/v1/points/charge', {
        token: frank,
        body: { amount: 1 },
      });
      expect([over.status, reason(over)]).to.deep.equal([400, 'BALANCE_LIMIT_EXCEEDED']);
      expect(
        (await mesh.request('GET', '/api/v1/points/frank', { token: frank })).body.balance,
      ).to.equal(100_000_000);
    });

    it("refuses another user's wallet with 403 USER_MISMATCH", async () => {
      const charge = await mesh.request('POST', '/api/v1/points/charge', {
        token: alice,
        body: { userId: 'bob', amount: 5 },
      });
      expect([charge.status, reason(charge)]).to.deep.equal([403, 'USER_MISMATCH']);
      const read = await mesh.request('GET', '/api/v1/points/bob', { token: alice });
      expect([read.status, reason(read)]).to.deep.equal([403, 'USER_MISMATCH']);
      const history = await mesh.request('GET', '/api/v1/points/bob/history', { token: alice });
      expect([history.status, reason(history)]).to.deep.equal([403, 'USER_MISMATCH']);
      expect(
        (await mesh.request('GET', '/api/v1/points/bob', { token: bob })).body.balance,
      ).to.equal(0);
    });
  });

  describe('request hygiene', () => {
    it('answers malformed JSON, unknown fields and oversized bodies with 400/413', async () => {
      const malformed = await mesh.request('POST', '/api/v1/points/charge', {
        token: alice,
        rawBody: '{"amount":',
      });
      expect([malformed.status, reason(malformed)]).to.deep.equal([400, 'INVALID_ARGUMENT']);
      const unknown = await mesh.request('POST', '/api/v1/points/charge', {
        token: alice,
        body: { amount: 5, bonus: 1 },
      });
      expect([
        unknown.status,
        reason(unknown),
        unknown.body.details[0].metadata.field,
      ]).to.deep.equal([400, 'INVALID_ARGUMENT', 'bonus']);
      const big = await mesh.request('POST', '/api/v1/points/charge', {
        token: alice,
        body: { amount: 5, userId: 'x'.repeat(70 * 1024) },
      });
      expect([big.status, reason(big)]).to.deep.equal([413, 'PAYLOAD_TOO_LARGE']);
      expect(
        (await mesh.request('GET', '/api/v1/points/alice', { token: alice })).body.balance,
      ).to.equal(0);
    });

    it('refuses unsigned, expired and foreign-signed tokens with 401', async () => {
      const none =
        Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url') +
        '.' +
        Buffer.from(
          JSON.stringify({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 60 }),
        ).toString('base64url') +
        '.';
      const expired = await jwtFor('alice', { ttlSeconds: -10 });
      const foreign = await jwtFor('alice', { secret: 'someone-elses-secret-123' });
      for (const token of [none, expired, foreign, 'garbage']) {
        const res = await mesh.request('GET', '/api/v1/points/alice', { token });
        expect([res.status, reason(res)]).to.deep.equal([401, 'UNAUTHENTICATED']);
        expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
      }
    });

    it('answers an unknown route with 404 in the error shape', async () => {
      const res = await mesh.request('GET', '/api/v1/nothing-here', { token: alice });
      expect(res.status).to.equal(404);
      expect(res.body.details[0]).to.include({
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        domain: 'boxoffice',
      });
    });
  });
});
