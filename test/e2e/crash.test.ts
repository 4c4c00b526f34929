// Crash tests with real processes and kill -9 at exact points (failpoints): the coordinator or
// a participant dies mid-transaction, restarts, and the transaction still ends all-or-nothing.
import { expect } from 'chai';
import { startMesh, type ApiResponse, type Mesh } from '../support/mesh';
import { Person, createConcert, eventually, expectInvariants, isoDay } from '../support/people';

const FAST_RECOVERY = {
  TX_TTL_MS: '6000',
  TX_RECOVERY_INTERVAL_MS: '200',
  TX_INLINE_FINISH_MS: '1500',
  XA_RESOLVER_INTERVAL_MS: '300',
  XA_RESOLVER_SAFETY_MS: '500',
  COORDINATOR_ID: 'coordinator-under-test',
  // A client that waits while a participant restarts (it retries with jittered backoff).
  GRPC_DEADLINE_MS: '15000',
};
const REST = 'queue,concert,reservation,payment,gateway';

for (const mode of ['xa', 'saga'] as const) {
  describe(`crashes (TX_MODE=${mode})`, function () {
    this.timeout(180_000);
    let mesh: Mesh;
    let concertId: string;
    const day = isoDay(9);
    let seat = 0;

    before(async () => {
      mesh = await startMesh({ TX_MODE: mode, ...FAST_RECOVERY }, [
        { name: 'coordinator', services: 'coordinator' },
        { name: 'point', services: 'point' },
        { name: 'rest', services: REST },
      ]);
      concertId = await createConcert(mesh, {
        title: `Crash ${mode}`,
        dates: [day],
        seatsPerDate: 50,
        price: 1500,
      });
    });
    afterEach(async () => mesh && expectInvariants(mesh));
    after(async () => mesh?.destroy());

    /** A user with 5,000 points and a fresh hold. */
    async function buyer(name: string) {
      const p = await Person.join(mesh, `${name}-${mode}`, 5000);
      const held = await p.reserve(concertId, day, ++seat);
      expect(held.status, JSON.stringify(held.body)).to.equal(201);
      return { p, reservationId: held.body.reservationId as string };
    }

    async function settle(p: Person, reservationId: string) {
      return eventually(
        () => p.reservation(reservationId),
        (r: ApiResponse) => r.body.status === 'CONFIRMED' || r.body.status === 'HELD',
        15_000,
      );
    }

    if (mode === 'xa') {
      it('commits after a restart when the coordinator died right after logging the decision', async () => {
        const { p, reservationId } = await buyer('after-decision');
        await mesh.arm('coordinator', 'coordinator.xa.after-decision');
        const answer = await p.pay(reservationId);
        expect(answer.status).to.be.oneOf([500, 502, 503, 504]);
        await mesh.exited('coordinator');
        mesh.restart('coordinator', { FAILPOINTS: '' });
        await mesh.waitReady();
        const final = await eventually(
          () => p.reservation(reservationId),
          (r) => r.body.status === 'CONFIRMED',
          15_000,
        );
        expect(final.body.status).to.equal('CONFIRMED');
        expect(await p.balance()).to.equal(3500);
      });

      it('aborts after a restart when the coordinator died with every branch prepared but no decision', async () => {
        const { p, reservationId } = await buyer('before-decision');
        await mesh.arm('coordinator', 'coordinator.xa.before-decision');
        await p.pay(reservationId);
        await mesh.exited('coordinator');
        mesh.restart('coordinator', { FAILPOINTS: '' });
        await mesh.waitReady();
        await expectInvariants(mesh);
        expect((await p.reservation(reservationId)).body.status).to.equal('HELD');
        expect(await p.balance()).to.equal(5000);
      });

      it('aborts cleanly when a participant dies while preparing', async () => {
        const { p, reservationId } = await buyer('participant-prepare');
        await mesh.arm('point', 'participant.xa.before-prepare');
        const answer = await p.pay(reservationId);
        expect(answer.status).to.be.oneOf([503, 504]);
        await mesh.exited('point');
        mesh.restart('point', { FAILPOINTS: '' });
        await mesh.waitReady();
        await expectInvariants(mesh);
        expect((await p.reservation(reservationId)).body.status).to.equal('HELD');
        expect(await p.balance()).to.equal(5000);
      });

      it('finishes phase 2 once a participant that died before committing is back', async () => {
        const { p, reservationId } = await buyer('participant-commit');
        await mesh.arm('point', 'participant.xa.before-commit');
        const paying = p.pay(reservationId);
        await mesh.exited('point');
        mesh.restart('point', { FAILPOINTS: '' });
        await paying;
        await mesh.waitReady();
        const final = await eventually(
          () => p.reservation(reservationId),
          (r) => r.body.status === 'CONFIRMED',
          15_000,
        );
        expect(final.body.status).to.equal('CONFIRMED');
        expect(
          await eventually(
            () => p.balance(),
            (b) => b === 3500,
          ),
        ).to.equal(3500);
      });
    } else {
      it('finishes or compensates a saga after the coordinator died in the middle', async () => {
        const { p, reservationId } = await buyer('mid-saga');
        await mesh.arm('coordinator', 'coordinator.saga.after-use-points');
        await p.pay(reservationId);
        await mesh.exited('coordinator');
        mesh.restart('coordinator', { FAILPOINTS: '' });
        await mesh.waitReady();
        await expectInvariants(mesh);
        const final = await settle(p, reservationId);
        const balance = await p.balance();
        if (final.body.status === 'CONFIRMED') expect(balance).to.equal(3500);
        else expect([final.body.status, balance]).to.deep.equal(['HELD', 5000]);
      });

      it('keeps a payment whose confirmation ran when the coordinator comes back past the deadline', async () => {
        // Confirm's ReservationCompleted may already be out (ending the token, reaching the data
        // platform): recovery must finish the saga, not compensate it for being late.
        const { p, reservationId } = await buyer('late-coordinator');
        await mesh.arm('coordinator', 'coordinator.saga.after-confirm');
        await p.pay(reservationId);
        await mesh.exited('coordinator');
        await new Promise((r) => setTimeout(r, Number(FAST_RECOVERY.TX_TTL_MS) + 1000));
        mesh.restart('coordinator', { FAILPOINTS: '' });
        await mesh.waitReady();
        await eventually(
          () => p.reservation(reservationId),
          (r: ApiResponse) => r.body.status !== 'PAYING',
          15_000,
        );
        await expectInvariants(mesh);
        expect((await p.reservation(reservationId)).body.status).to.equal('CONFIRMED');
        expect(await p.balance()).to.equal(3500);
      });
    }

    it('retries a participant that is unavailable for a while, then finishes the payment', async () => {
      const { p, reservationId } = await buyer('unavailable');
      const key = `pay-${reservationId}`;
      await mesh.kill('point');
      const paying = p.pay(reservationId, key);
      await new Promise((r) => setTimeout(r, 1500));
      mesh.restart('point', { FAILPOINTS: '' });
      const answer = await paying;
      await mesh.waitReady();
      if (mode === 'saga') {
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        expect(await p.balance()).to.equal(3500);
      } else {
        // XA never retries a prepare: the transaction aborts, and the client may simply pay
        // again — under the same Idempotency-Key, since the aborted attempt changed nothing.
        expect(answer.status).to.be.oneOf([201, 503]);
        if (answer.status !== 201) {
          expect(JSON.stringify(answer.body)).not.to.match(/127\.0\.0\.1|ECONNREFUSED/);
          await expectInvariants(mesh);
          const again = await p.pay(reservationId, key);
          expect(again.status, JSON.stringify(again.body)).to.equal(201);
        }
        expect(await p.balance()).to.equal(3500);
      }
      expect((await p.reservation(reservationId)).body.status).to.equal('CONFIRMED');
    });
  });
}
