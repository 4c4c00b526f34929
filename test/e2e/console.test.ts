// The operator console in a real browser (headless Chromium), against the real mesh in each
// TX_MODE: a participant killed mid-flow leaves a transaction STUCK; the console finds it, shows
// the failing branch on its timeline, and once the participant is back an operator retries it
// and watches it commit. Then a parked event is replayed, the invariants are run, the seat map
// shows a live hold, and a user who is no operator sees nothing. Screenshots of every page go to
// .run/console-screenshots, or to CONSOLE_SCREENSHOTS (docs/console refreshes docs/console.md's).
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { deliveries, mockMode } from '../support/dataplatform';
import { launchChromium, screenshot } from '../support/browser';
import { jwtFor } from '../support/jwt';
import { startMesh, type Mesh } from '../support/mesh';
import { OtlpReceiver } from '../support/otlp';
import { Person, createConcert, eventually, isoDay } from '../support/people';

const PRICE = 1500;
/** Recovery that gives up fast: two failed attempts park a transaction (STUCK). */
const PARK_FAST = {
  TX_RECOVERY_INTERVAL_MS: '200',
  TX_RETRY_BASE_MS: '100',
  TX_RETRY_MAX_MS: '200',
  TX_PARK_AFTER_ATTEMPTS: '2',
  TX_INLINE_FINISH_MS: '500',
  XA_RESOLVER_INTERVAL_MS: '300',
  XA_RESOLVER_SAFETY_MS: '500',
  GRPC_DEADLINE_MS: '10000',
  JAEGER_UI_URL: 'http://jaeger.example:16686',
  // A few requests at a time: small pools leave the shared database server room.
  DB_POOL_SIZE: '4',
  XA_POOL_SIZE: '6',
  OTEL_BSP_SCHEDULE_DELAY: '50',
};
const REST =
  'queue,concert,reservation,payment,coordinator,ops,dataplatform,dataplatform-mock,gateway';
const WAIT = { timeout: 20_000 };

describe('operator console in Chromium', function () {
  this.timeout(120_000);
  let browser: Browser;
  const receiver = new OtlpReceiver();
  let endpoint = '';

  before(async () => {
    [browser, endpoint] = await Promise.all([launchChromium(), receiver.start()]);
  });
  after(async () => {
    await browser?.close();
    await receiver.stop();
  });

  for (const mode of ['xa', 'saga'] as const) {
    describe(`TX_MODE=${mode}`, () => {
      let mesh: Mesh;
      let context: BrowserContext;
      let page: Page;
      let concertId: string;
      const day = isoDay(12);
      let seat = 0;

      before(async () => {
        mesh = await startMesh(
          {
            TX_MODE: mode,
            OTEL_TRACES_EXPORTER: 'otlp',
            OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
            ...PARK_FAST,
          },
          [
            { name: 'point', services: 'point' },
            { name: 'rest', services: REST },
          ],
        );
        concertId = await createConcert(mesh, {
          title: `Console ${mode}`,
          dates: [day],
          seatsPerDate: 30,
          price: PRICE,
        });
        context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        page = await context.newPage();
        await signIn(page, mesh, await jwtFor('ops-anna', { admin: true }));
      });
      after(async () => {
        await context?.close();
        await mesh?.destroy();
      });

      async function signIn(p: Page, m: Mesh, token: string): Promise<void> {
        await p.goto(`${m.url}/console`);
        await p.fill('#token', token);
        if (mode === 'xa') await screenshot(p, 'sign-in', false);
        await p.click('#sign-in');
      }

      /** Restarts a process with a failpoint armed and waits until the mesh is ready. */
      async function arm(group: string, failpoint: string): Promise<void> {
        await mesh.kill(group);
        mesh.restart(group, { FAILPOINTS: failpoint });
        await mesh.waitReady();
      }

      /** Confirms the open confirmation dialog, after a look at it. */
      async function confirm(name?: string): Promise<void> {
        await page.waitForSelector('dialog.confirm[open]', WAIT);
        if (name) await screenshot(page, name, false);
        await page.click('dialog.confirm button[value="confirm"]');
      }

      it('finds a transaction stuck on a dead participant, shows its failing branch, and commits it once retried', async () => {
        const p = await Person.join(mesh, `stuck-${mode}`, 5000);
        const held = await p.reserve(concertId, day, ++seat);
        expect(held.status, JSON.stringify(held.body)).to.equal(201);
        const reservationId = held.body.reservationId as string;
        // XA: point dies on phase 2, its branch prepared: the decision is COMMIT, and stays
        // unapplied. Saga: point dies inside a refund's RefundPoints, a step that must succeed.
        let failing: string;
        if (mode === 'xa') {
          await arm('point', 'participant.xa.before-commit=1*kill');
          await p.pay(reservationId);
          failing = 'point:commit';
        } else {
          const paid = await p.pay(reservationId);
          expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
          await arm('point', 'participant.point.after-body=1*kill');
          await p.refund(paid.body.paymentId as string);
          failing = 'refund-points';
        }
        await mesh.exited('point');

        await page.goto(`${mesh.url}/console#/transactions?state=STUCK`);
        const row = page.locator('#transactions tr[data-gid]', {
          has: page.locator('.badge[data-state="STUCK"]'),
        });
        await row.first().waitFor(WAIT);
        expect(await row.count()).to.equal(1);
        expect(await page.textContent('#counts a[data-state="STUCK"] strong')).to.equal('1');
        await screenshot(page, `transactions-stuck-${mode}`, false);
        const gid = (await row.getAttribute('data-gid'))!;

        await row.locator('a.gid').click();
        const lane = page.locator(`#timeline g.lane[data-branch="${failing}"]`);
        await lane.waitFor(WAIT);
        expect(await lane.getAttribute('data-state')).to.equal('FAILED');
        expect(await page.textContent('[data-fact="state"]')).to.equal(
          mode === 'xa' ? 'STUCK in COMMITTING' : 'STUCK in RUNNING',
        );
        const trace = await page.getAttribute('#trace', 'href');
        expect(trace).to.match(/^http:\/\/jaeger\.example:16686\/trace\/[0-9a-f]{32}$/);
        await screenshot(page, `transaction-stuck-${mode}`);

        mesh.restart('point', { FAILPOINTS: '' });
        await mesh.waitReady();
        await page.click('#retry');
        await confirm(`retry-confirm-${mode}`);
        await page.waitForSelector('.notice.ok', WAIT);
        await page.waitForSelector('[data-fact="state"] .badge[data-state="COMMITTED"]', WAIT);
        expect(await page.textContent('#actions tbody')).to.include('ops-anna');
        await screenshot(page, `transaction-committed-${mode}`);

        const after = await mesh.request('GET', `/api/v1/admin/transactions/${gid}`, {
          token: await jwtFor('ops-anna', { admin: true }),
        });
        expect(
          after.body.transaction.history.map((h: { event: string }) => h.event),
        ).to.include.members(['PARKED', 'RETRIED']);
        const status = await eventually(
          async () => (await p.reservation(reservationId)).body.status as string,
          (s) => s === (mode === 'xa' ? 'CONFIRMED' : 'CANCELLED'),
        );
        expect(status).to.equal(mode === 'xa' ? 'CONFIRMED' : 'CANCELLED');
        expect(await p.balance()).to.equal(mode === 'xa' ? 5000 - PRICE : 5000);
      });

      it('refuses an action on a transaction that moved on since the page showed it', async () => {
        await page.goto(`${mesh.url}/console#/transactions?state=COMMITTED&flow=reserve`);
        const row = page.locator('#transactions tr[data-gid]').first();
        await row.waitFor(WAIT);
        const gid = (await row.getAttribute('data-gid'))!;
        const res = await mesh.request('POST', `/api/v1/admin/transactions/${gid}/retry`, {
          token: await jwtFor('ops-bert', { admin: true }),
          body: { expectedState: 'STUCK' },
        });
        expect([
          res.status,
          res.body.details[0].reason,
          res.body.details[0].metadata,
        ]).to.deep.equal([409, 'TRANSACTION_STATE_CHANGED', { state: 'COMMITTED' }]);
      });

      it('replays a parked event from the parked-events page, and the data platform gets it once', async () => {
        await mockMode(mesh, 'fail');
        const p = await Person.join(mesh, `parked-${mode}`, 5000);
        const held = await p.reserve(concertId, day, ++seat);
        const paid = await p.pay(held.body.reservationId as string);
        expect(paid.status, JSON.stringify(paid.body)).to.equal(201);
        await page.goto(`${mesh.url}/console#/parked`);
        const row = page.locator('section[data-queue="dataplatform.deliveries"] tr[data-event]');
        await row.first().waitFor(WAIT);
        expect(await row.locator('td').nth(1).textContent()).to.equal('ReservationCompleted');
        await mockMode(mesh, 'ok');
        if (mode === 'xa') await screenshot(page, 'parked-events', false);
        await row.first().locator('button.replay').click();
        await confirm();
        await page.waitForSelector('.notice.ok', WAIT);
        expect(await page.textContent('.notice.ok')).to.equal(
          'Replayed 1 event(s) to dataplatform.deliveries.',
        );
        await row.first().waitFor({ state: 'detached', ...WAIT });
        const delivered = await eventually(
          async () =>
            (await deliveries(mesh)).filter(
              (d) => d.accepted > 0 && d.body.reservationId === held.body.reservationId,
            ).length,
          (n) => n === 1,
        );
        expect(delivered).to.equal(1);
      });

      it('runs the invariants on demand: every one holds', async () => {
        await page.goto(`${mesh.url}/console#/invariants`);
        await page.click('#run-invariants');
        await page.waitForSelector('#audit-summary', WAIT);
        expect(await page.textContent('#audit-summary')).to.match(/^Every invariant holds\./);
        expect(await page.locator('ul.invariants li[data-ok="false"]').count()).to.equal(0);
        expect(await page.locator('ul.invariants li[data-ok="true"]').count()).to.equal(13);
        if (mode === 'xa') await screenshot(page, 'invariants');
      });

      it('shows a live hold on the seat map with its holder and the time left', async () => {
        const p = await Person.join(mesh, `holder-${mode}`);
        const held = await p.reserve(concertId, day, ++seat);
        expect(held.status).to.equal(201);
        await page.goto(`${mesh.url}/console#/seats?concert=${concertId}&date=${day}`);
        const cell = page.locator(`#seat-map .seat[data-seat="${seat}"][data-status="HELD"]`);
        await cell.waitFor(WAIT);
        expect(await cell.locator('small').nth(1).textContent()).to.equal(p.id);
        expect(await cell.locator('.expiry').textContent()).to.match(/^\d+ min$|^\d+ s$/);
        expect(await page.locator('#seat-map .seat[data-status="SOLD"]').count()).to.equal(
          mode === 'xa' ? 2 : 1,
        );
        if (mode === 'xa') {
          await screenshot(page, 'seat-map', false);
          await page.goto(`${mesh.url}/console#/actions`);
          await page.waitForSelector('#audit-trail tbody tr', WAIT);
          await screenshot(page, 'audit-trail', false);
        }
      });

      it('shows a user who is no operator nothing but a refusal', async () => {
        const stranger = await browser.newContext();
        try {
          const p = await stranger.newPage();
          await p.goto(`${mesh.url}/console`);
          await p.fill('#token', await jwtFor('u1'));
          await p.click('#sign-in');
          await p.waitForSelector('.forbidden', WAIT);
          expect(await p.textContent('.forbidden')).to.include('ADMIN_ONLY');
          expect(await p.locator('#transactions').count()).to.equal(0);
          if (mode === 'xa') await screenshot(p, 'forbidden', false);
        } finally {
          await stranger.close();
        }
      });
    });
  }
});
