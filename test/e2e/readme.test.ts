// The README's curl walkthrough, run with bash as written against the real mesh (tokens from
// `npm run token` with the mesh's secrets, the gateway on its GATEWAY_PORT): every call answers
// as the walkthrough promises, so the README cannot drift from the API.
import { expect } from 'chai';
import { CURL_SHIM, blockCalling, runWithShims } from '../support/readme';
import { startMesh, type Mesh } from '../support/mesh';

interface CurlCall {
  route: string;
  url: URL;
  /** The value of each -H, by lower-cased header name. */
  headers: Record<string, string>;
  status: number;
  body: any;
}

/** A curl shim report: status, body, then curl's own arguments. */
function curlCall([status, body, ...args]: string[]): CurlCall {
  let method = 'GET';
  let url: URL | undefined;
  const headers: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-X') method = args[++i];
    else if (args[i] === '-H') {
      const [name, ...value] = args[++i].split(':');
      headers[name.trim().toLowerCase()] = value.join(':').trim();
    } else if (/^https?:\/\//.test(args[i])) url = new URL(args[i]);
  }
  if (!url) throw new Error(`curl ${args.join(' ')}: no URL`);
  return {
    route: `${method} ${url.pathname}`,
    url,
    headers,
    status: Number(status),
    body: body ? JSON.parse(body) : undefined,
  };
}

describe("the README's curl walkthrough", function () {
  this.timeout(60_000);
  let mesh: Mesh;

  before(async () => {
    mesh = await startMesh();
  });
  after(async () => mesh?.destroy());

  it('books and pays a seat on the running mesh, each answer as documented', async () => {
    const calls = (await runWithShims(blockCalling('curl'), CURL_SHIM, mesh.env)).map(curlCall);
    const [created, listed, entered, status, charged, dates, reserved, paid] = calls;
    const concertId: string = created.body.concertId;
    const reservationId: string = reserved.body.reservationId;
    const queueToken: string = entered.body.token;

    expect(calls.map((c) => c.route)).to.deep.equal([
      'POST /api/v1/admin/concerts',
      'GET /api/v1/concerts',
      'POST /api/v1/queue/tokens',
      'GET /api/v1/queue/status',
      'POST /api/v1/points/charge',
      `GET /api/v1/concerts/${concertId}/dates`,
      'POST /api/v1/reservations',
      'POST /api/v1/payments',
    ]);
    expect(new Set(calls.map((c) => c.url.host))).to.deep.equal(
      new Set([`127.0.0.1:${mesh.env.GATEWAY_PORT}`]),
    );
    for (const call of calls.filter((c) => c.route.startsWith('POST')))
      expect(call.headers['content-type'], call.route).to.equal('application/json');

    const day: string = created.body.schedules[0]?.date;
    expect(day > new Date().toISOString().slice(0, 10), `${day} is to come`).to.equal(true);
    expect([created.status, created.body]).to.deep.equal([
      201,
      {
        concertId,
        title: 'Winter Gala',
        schedules: [{ scheduleId: dates.body.dates[0].scheduleId, date: day, totalSeats: 50 }],
      },
    ]);
    expect([listed.status, listed.body]).to.deep.equal([
      200,
      { concerts: [{ concertId, title: 'Winter Gala' }] },
    ]);
    expect([entered.status, entered.body.status, entered.body.position]).to.deep.equal([
      201,
      'ACTIVE',
      0,
    ]);
    expect(status.headers['x-queue-token']).to.equal(queueToken);
    expect([status.status, status.body.status]).to.deep.equal([200, 'ACTIVE']);
    expect([charged.status, charged.body]).to.deep.equal([200, { userId: 'u1', balance: 50000 }]);
    expect([
      dates.status,
      dates.body.dates.map((d: any) => [d.date, d.availableSeats]),
    ]).to.deep.equal([200, [[day, 50]]]);
    expect([reserved.status, reserved.body]).to.deep.equal([
      201,
      {
        reservationId,
        concertId,
        scheduleId: dates.body.dates[0].scheduleId,
        date: day,
        seatNumber: 7,
        price: 10000,
        status: 'HELD',
        expiresAt: reserved.body.expiresAt,
      },
    ]);
    expect(paid.headers['idempotency-key']).to.equal('pay-1');
    expect([paid.status, paid.body]).to.deep.equal([
      201,
      {
        paymentId: paid.body.paymentId,
        reservationId,
        amount: 10000,
        status: 'PAID',
        paidAt: paid.body.paidAt,
        balance: 40000,
      },
    ]);
  });
});
