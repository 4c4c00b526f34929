// The real payment server on a random port, called over the network as the coordinator would.
import { status as Status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { asCoordinator } from '../../test/support/identity';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { PaymentServiceService, PaymentStatus } from '../../gen/boxoffice/payment/v1/payment';
import type { Config } from '../../lib/config';
import { dropDatabase } from '../../lib/db';
import type { AsyncClient } from '../../lib/grpc/client';
import { newId } from '../../lib/ids';
import { testContext, type TestContext } from '../../test/support/context';
import { runId } from '../../test/support/infra';
import { refusal } from '../../test/support/refusals';
import { phaseTwo, sagaContext, xaContext } from '../../test/support/tx';
import { startPayment } from './main';

describe('payment gRPC server', function () {
  this.timeout(30_000);
  let ctx: TestContext;
  let config: Config;
  let client: AsyncClient<typeof PaymentServiceService>;
  let participant: AsyncClient<typeof ParticipantServiceService>;

  const saga = (gid = newId(), op: 'action' | 'compensate' = 'action') =>
    asCoordinator(ctx.trust, sagaContext(gid, 'record', op));
  const xa = (gid: string, prepare: boolean) =>
    asCoordinator(ctx.trust, xaContext(gid, 'payment', prepare));
  const request = () => ({
    paymentId: newId(),
    reservationId: newId(),
    userId: 'u1',
    amount: 8000,
  });

  before(async () => {
    ctx = await testContext({ PAYMENT_GRPC_PORT: '0', DB_NAME_PREFIX: `${runId()}_` });
    config = ctx.config;
    const port = await startPayment(ctx);
    client = ctx.clientAt(PaymentServiceService, port, 'operator');
    participant = ctx.clientAt(ParticipantServiceService, port, 'coordinator');
  });

  after(async () => {
    await ctx.stop();
    await dropDatabase(config.db.payment);
  });

  it('records, reads and refunds a payment, with instants in RFC 3339 UTC', async () => {
    const req = request();
    const { payment } = await client.recordPayment(req, saga());
    expect(payment).to.deep.include({ ...req, status: PaymentStatus.PAID });
    expect(payment?.paidAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(payment?.refundedAt).to.equal(undefined);
    expect((await client.getPayment({ paymentId: req.paymentId })).payment).to.deep.equal(payment);

    const refunded = await client.refundPayment({ paymentId: req.paymentId, userId: 'u1' }, saga());
    expect(refunded.payment).to.deep.include({
      reservationId: req.reservationId,
      userId: 'u1',
      amount: 8000,
      status: PaymentStatus.REFUNDED,
    });
    expect(refunded.payment?.refundedAt).to.match(/Z$/);
  });

  it('carries refusals with their reason and status code', async () => {
    const req = request();
    await client.recordPayment(req, saga());
    expect(
      await refusal(client.refundPayment({ paymentId: req.paymentId, userId: 'u2' }, saga())),
    ).to.deep.equal({
      code: Status.NOT_FOUND,
      reason: 'NOT_FOUND',
    });
    await client.refundPayment({ paymentId: req.paymentId, userId: 'u1' }, saga());
    expect(
      await refusal(client.refundPayment({ paymentId: req.paymentId, userId: 'u1' }, saga())),
    ).to.deep.equal({
      code: Status.ALREADY_EXISTS,
      reason: 'PAYMENT_ALREADY_REFUNDED',
    });
    expect(await refusal(client.getPayment({ paymentId: newId() }))).to.deep.equal({
      code: Status.NOT_FOUND,
      reason: 'NOT_FOUND',
    });
    expect(await refusal(client.recordPayment({ ...request(), amount: 0 }, saga()))).to.deep.equal({
      code: Status.INVALID_ARGUMENT,
      reason: 'INVALID_ARGUMENT',
    });
  });

  it('voids a recorded payment as a saga compensation', async () => {
    const gid = newId();
    const req = request();
    await client.recordPayment(req, saga(gid));
    await client.voidPayment({ paymentId: req.paymentId }, saga(gid, 'compensate'));
    expect((await client.getPayment({ paymentId: req.paymentId })).payment?.status).to.equal(
      PaymentStatus.VOIDED,
    );
  });

  it('commits a prepared XA branch through the ParticipantService, and rolls a refused one back', async () => {
    const gid = newId();
    const req = request();
    await client.recordPayment(req, xa(gid, true));
    expect(await refusal(client.getPayment({ paymentId: req.paymentId }))).to.deep.include({
      reason: 'NOT_FOUND',
    });
    await phaseTwo(participant, ctx.trust, gid, 'payment', 'commit');
    await phaseTwo(participant, ctx.trust, gid, 'payment', 'commit'); // phase 2 repeated: done already
    expect((await client.getPayment({ paymentId: req.paymentId })).payment?.status).to.equal(
      PaymentStatus.PAID,
    );

    const gid2 = newId();
    const other = request();
    await client.recordPayment(other, xa(gid2, false));
    expect(
      await refusal(
        client.refundPayment({ paymentId: other.paymentId, userId: 'u2' }, xa(gid2, true)),
      ),
    ).to.deep.equal({ code: Status.NOT_FOUND, reason: 'NOT_FOUND' });
    await phaseTwo(participant, ctx.trust, gid2, 'payment', 'rollback');
    expect(await refusal(client.getPayment({ paymentId: other.paymentId }))).to.deep.include({
      reason: 'NOT_FOUND',
    });
  });
});
