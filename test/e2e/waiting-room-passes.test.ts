// Waiting-room tokens on booking routes, with two gateway processes in front of one mesh: the
// gateway a token was issued through keeps the queue's signed pass from that answer, another asks
// the queue once and keeps the pass it answers; a token the queue ends is refused by both within
// a second; and a token its own payment ended still lets its holder repeat that payment, once per
// TX_MODE since the coordinator answers the repeat.
import { expect } from 'chai';
import { ChannelPool } from '../../lib/grpc/client';
import { TX_MODES } from '../../lib/txMode';
import { QueueServiceService } from '../../gen/boxoffice/queue/v1/queue';
import { jwtFor } from '../support/jwt';
import { freePort, startMesh, type ApiResponse, type Mesh } from '../support/mesh';
import { scrape, valueOf } from '../support/metrics';
import { createConcert, eventually, isoDay, Person, reason } from '../support/people';

const REST = 'queue,concert,reservation,payment,point,coordinator,dataplatform,dataplatform-mock';

for (const mode of TX_MODES) {
  describe(`waiting-room passes on two gateways (TX_MODE=${mode})`, function () {
    this.timeout(120_000);
    let mesh: Mesh;
    let otherGateway = '';
    let metricsUrl = '';
    let concertId = '';
    const day = isoDay(3);
    const channels = new ChannelPool(5_000);

    before(async () => {
      const metricsPort = await freePort();
      const otherPort = await freePort();
      metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
      otherGateway = `http://127.0.0.1:${otherPort}`;
      mesh = await startMesh({ TX_MODE: mode }, [
        { name: 'rest', services: REST, env: { METRICS_PORT: String(metricsPort) } },
        { name: 'gateway', services: 'gateway' },
        { name: 'gateway-b', services: 'gateway', env: { GATEWAY_PORT: String(otherPort) } },
      ]);
      await eventually(
        () => fetch(`${otherGateway}/readyz`).then((r) => r.status),
        (s) => s === 200,
      );
      // A gateway keeps a pass only once its ended-token feed has been up for the clock skew
      // it allows (a second, gateway/activeTokens.ts) before the pass was signed.
      await new Promise((r) => setTimeout(r, 1_500));
      concertId = await createConcert(mesh, {
        title: `Passes ${mode}`,
        dates: [day],
        seatsPerDate: 20,
        price: 1000,
      });
    });
    after(async () => {
      channels.close();
      await mesh?.destroy();
    });

    /** The same request as `person` would make, sent to the other gateway. */
    async function viaOther(
      person: Person,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<ApiResponse> {
      const res = await fetch(`${otherGateway}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${person.jwt}`,
          'x-queue-token': person.queueToken,
          'content-type': 'application/json',
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json(), headers: res.headers };
    }

    const seatsPath = `/api/v1/concerts/${'{c}'}/dates/${day}/seats`;
    const seatsVia = (person: Person, other: boolean) =>
      other
        ? viaOther(person, 'GET', seatsPath.replace('{c}', concertId))
        : person.mesh.request('GET', seatsPath.replace('{c}', concertId), {
            token: person.jwt,
            queueToken: person.queueToken,
          });

    const validations = async () =>
      valueOf(await scrape(metricsUrl), 'grpc_server_duration_seconds_count', {
        method: 'ValidateToken',
      }) ?? 0;

    it('checks a token with no call on the gateway that issued it, and one on any other', async () => {
      const before = await validations();
      // Issued through the first gateway: the answer carried the queue's pass.
      const ann = await Person.join(mesh, `pass-ann-${mode}`, 5_000);
      for (let i = 0; i < 3; i++) {
        expect((await seatsVia(ann, false)).status).to.equal(200);
        expect((await seatsVia(ann, true)).status).to.equal(200);
      }
      const held = await ann.reserve(concertId, day, 1);
      expect(held.status, JSON.stringify(held.body)).to.equal(201);
      // The second gateway asked once, then kept the pass ValidateToken answered.
      expect(await validations()).to.equal(before + 1);
    });

    it('refuses a token the queue ended on both gateways within a second', async () => {
      const bo = await Person.join(mesh, `pass-bo-${mode}`);
      expect((await seatsVia(bo, false)).status).to.equal(200);
      expect((await seatsVia(bo, true)).status).to.equal(200);
      const queue = channels.client(
        QueueServiceService,
        `127.0.0.1:${mesh.env.QUEUE_GRPC_PORT}`,
        mesh.trust().signer('operator'),
      );
      const endedAt = Date.now();
      expect(await queue.endToken({ userId: bo.id })).to.deep.equal({ ended: true });
      // Both gateways are asked side by side, every 20 ms, until each refuses.
      const refusals = await Promise.all(
        [false, true].map(async (other) => {
          for (;;) {
            const res = await seatsVia(bo, other);
            if (res.status !== 200 || Date.now() - endedAt > 5_000)
              return { res, afterMs: Date.now() - endedAt };
            await new Promise((r) => setTimeout(r, 20));
          }
        }),
      );
      for (const { res, afterMs } of refusals) {
        expect([res.status, reason(res)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
        expect(afterMs).to.be.below(1_000);
      }
    });

    it('lets a token its payment ended repeat that payment, and nothing else', async () => {
      const cy = await Person.join(mesh, `pass-cy-${mode}`, 5_000);
      const first = await cy.reserve(concertId, day, 5);
      const second = await cy.reserve(concertId, day, 6);
      expect([first.status, second.status]).to.deep.equal([201, 201]);
      const paid = await cy.pay(first.body.reservationId, 'pay-once');
      expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
      // The payment's event ends the token shortly after the answer.
      await eventually(
        () => seatsVia(cy, false),
        (r) => r.status === 401,
      );

      for (const other of [false, true]) {
        const payAgain = (reservationId: string, key?: string) =>
          other
            ? viaOther(
                cy,
                'POST',
                '/api/v1/payments',
                { reservationId },
                key ? { 'idempotency-key': key } : {},
              )
            : cy.pay(reservationId, key);
        const repeat = await payAgain(first.body.reservationId, 'pay-once');
        expect([repeat.status, repeat.body]).to.deep.equal([201, paid.body]);
        const unkeyed = await payAgain(first.body.reservationId);
        expect([unkeyed.status, reason(unkeyed)]).to.deep.equal([409, 'RESERVATION_ALREADY_PAID']);
        const otherHold = await payAgain(second.body.reservationId, 'pay-other');
        expect([otherHold.status, reason(otherHold)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
        const seats = await seatsVia(cy, other);
        expect([seats.status, reason(seats)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
      }
      const reserve = await cy.reserve(concertId, day, 7);
      expect([reserve.status, reason(reserve)]).to.deep.equal([401, 'QUEUE_TOKEN_EXPIRED']);
      // Someone else holding the token gets nothing from it.
      const thief = new Person(mesh, `pass-thief-${mode}`, await jwtFor(`pass-thief-${mode}`));
      thief.queueToken = cy.queueToken;
      const stolen = await thief.pay(first.body.reservationId, 'pay-once');
      expect([stolen.status, reason(stolen)]).to.deep.equal([403, 'QUEUE_TOKEN_USER_MISMATCH']);
      // The second hold is still the holder's to pay, with a new token.
      await cy.enterQueue();
      expect((await cy.pay(second.body.reservationId)).status).to.equal(201);
    });
  });
}
