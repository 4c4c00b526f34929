// The point branches over the wire, against the real point server and MariaDB: Pay's debit
// and its compensation behind the saga barrier, Refund's credit, XA branches with phase 2
// through the ParticipantService — and after all of it, balance = ledger and one event per change.
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { PointServiceService } from '../../gen/boxoffice/point/v1/point';
import type { Config } from '../../lib/config';
import { createPool, Database, dropDatabase } from '../../lib/db';
import type { AsyncClient } from '../../lib/grpc/client';
import { errorDetail } from '../../lib/grpc/status';
import { testContext, type TestContext } from '../../test/support/context';
import { asCoordinator, asUser } from '../../test/support/identity';
import { runId } from '../../test/support/infra';
import { refusal } from '../../test/support/refusals';
import {
  outboxEvents,
  preparedGids,
  sagaContext,
  phaseTwo,
  xaContext,
} from '../../test/support/tx';
import { startPoint } from './main';

describe('point branches (gRPC, real MariaDB)', function () {
  this.timeout(60_000);
  const tag = runId();
  let ctx: TestContext;
  let config: Config;
  let db: Database;
  let client: AsyncClient<typeof PointServiceService>;
  let phase2: AsyncClient<typeof ParticipantServiceService>;
  let gids = 0;

  const newGid = (label: string) => `${tag}-${label}-${++gids}`;
  const saga = (gid: string, branchId: string, op: 'action' | 'compensate' = 'action') =>
    asCoordinator(ctx.trust, sagaContext(gid, branchId, op));
  const xa = (gid: string) => asCoordinator(ctx.trust, xaContext(gid, 'point', true));

  async function charge(userId: string, amount: number): Promise<number> {
    const caller = asUser(ctx.trust, { userId, role: 'user' });
    return (await client.charge({ userId, amount }, caller)).balance;
  }

  async function balance(userId: string): Promise<number> {
    const [row] = await db.query<{ balance: number }>(
      'SELECT balance FROM wallet WHERE user_id = ?',
      [userId],
    );
    return row?.balance ?? 0;
  }

  async function ledger(userId: string): Promise<[string, number, number, string][]> {
    const rows = await db.query<{
      type: string;
      amount: number;
      balance_after: number;
      reference: string;
    }>(
      'SELECT type, amount, balance_after, reference FROM point_ledger WHERE user_id = ? ORDER BY id',
      [userId],
    );
    return rows.map((r) => [r.type, r.amount, r.balance_after, r.reference]);
  }

  async function events(userId: string) {
    return (await outboxEvents(db, userId)).map(({ type, version, payload: p }) => {
      expect(p.userId).to.equal(userId);
      return [type, version, p.amount, p.balance, p.reference];
    });
  }

  /** XA branches still prepared in the point database. */
  const preparedBranches = () => preparedGids(db, config.db.point.database);

  /** The whole story of a wallet: ledger rows and events match one to one, and sum to the balance. */
  async function audit(userId: string): Promise<number> {
    const rows = await ledger(userId);
    const eventOf: Record<string, string> = {
      CHARGE: 'PointCharged',
      USE: 'PointUsed',
      REFUND: 'PointRefunded',
    };
    expect(await events(userId), `events of ${userId}`).to.deep.equal(
      rows.map(([type, amount, after, reference]) => [eventOf[type], 1, amount, after, reference]),
    );
    const sum = rows.reduce((s, [type, amount]) => s + (type === 'USE' ? -amount : +amount), 0);
    expect(await balance(userId), `balance of ${userId}`).to.equal(sum);
    return sum;
  }

  const users = new Set<string>();
  const user = (name: string) => {
    users.add(`${name}-${tag}`);
    return `${name}-${tag}`;
  };

  before(async () => {
    ctx = await testContext({ POINT_GRPC_PORT: '0', DB_NAME_PREFIX: `${tag}_` }, 20_000);
    config = ctx.config;
    const port = await startPoint(ctx);
    client = ctx.clientAt(PointServiceService, port, 'coordinator');
    phase2 = ctx.clientAt(ParticipantServiceService, port, 'coordinator');
    db = new Database(createPool({ ...config.db.point, poolSize: 2 }), config.db.point.database);
  });

  after(async () => {
    await ctx.stop();
    await db.close();
    await dropDatabase(config.db.point);
  });

  describe('UsePoints', () => {
    it('debits, records a USE row with the payment as reference and emits PointUsed', async () => {
      const alice = user('alice');
      await charge(alice, 1000);
      const gid = newGid('use');
      const use = { userId: alice, amount: 300, reference: 'pay-1' };
      expect(await client.usePoints(use, saga(gid, 'use-points'))).to.deep.equal({ balance: 700 });
      // A duplicate of the same saga action answers the same and debits nothing more.
      expect(await client.usePoints(use, saga(gid, 'use-points'))).to.deep.equal({ balance: 700 });
      expect(await ledger(alice)).to.deep.equal([
        ['CHARGE', 1000, 1000, (await ledger(alice))[0][3]],
        ['USE', 300, 700, 'pay-1'],
      ]);
      expect((await events(alice)).slice(1)).to.deep.equal([['PointUsed', 1, 300, 700, 'pay-1']]);
      // Using the whole balance leaves exactly 0.
      expect(
        await client.usePoints(
          { ...use, amount: 700, reference: 'pay-2' },
          saga(newGid('use'), 'use-points'),
        ),
      ).to.deep.equal({ balance: 0 });
      expect(await audit(alice)).to.equal(0);
    });

    it('refuses more than the balance (or no wallet) with INSUFFICIENT_POINTS, changing nothing', async () => {
      const bob = user('bob');
      await charge(bob, 500);
      const before = { ledger: await ledger(bob), events: await events(bob) };
      const insufficient = { code: Status.FAILED_PRECONDITION, reason: 'INSUFFICIENT_POINTS' };
      expect(
        await refusal(
          client.usePoints(
            { userId: bob, amount: 501, reference: 'pay-x' },
            saga(newGid('use'), 'use-points'),
          ),
        ),
      ).to.deep.equal(insufficient);
      expect(
        await refusal(
          client.usePoints({ userId: bob, amount: 501, reference: 'pay-x' }, xa(newGid('use'))),
        ),
      ).to.deep.equal(insufficient);
      // Without a transaction context the branch does not run at all, not even locally.
      expect(
        await refusal(client.usePoints({ userId: bob, amount: 501, reference: 'pay-x' })),
      ).to.deep.equal({ code: Status.UNAUTHENTICATED, reason: 'UNAUTHENTICATED' });
      expect(await balance(bob)).to.equal(500);
      expect({ ledger: await ledger(bob), events: await events(bob) }).to.deep.equal(before);

      const nobody = user('nobody');
      expect(
        await refusal(
          client.usePoints(
            { userId: nobody, amount: 1, reference: 'pay-y' },
            saga(newGid('use'), 'use-points'),
          ),
        ),
      ).to.deep.equal(insufficient);
      expect(await ledger(nobody)).to.deep.equal([]);
      expect(await events(nobody)).to.deep.equal([]);
      const [barrier] = await db.query<{ n: number }>(
        'SELECT COUNT(*) AS n FROM tx_barrier WHERE gid LIKE ?',
        [`${tag}-use-%`],
      );
      expect(Number(barrier.n)).to.equal(2); // alice's two successful uses only
      expect(await preparedBranches()).to.deep.equal([]);
    });

    it('refuses an amount that is not a positive integer with INVALID_AMOUNT', async () => {
      const carol = user('carol');
      await charge(carol, 100);
      for (const amount of [0, -5]) {
        expect(
          await refusal(
            client.usePoints({ userId: carol, amount, reference: 'p' }, saga(newGid('bad'), 'u')),
          ),
          String(amount),
        ).to.deep.equal({ code: Status.INVALID_ARGUMENT, reason: 'INVALID_AMOUNT' });
        expect(
          await refusal(
            client.refundPoints(
              { userId: carol, amount, reference: 'p' },
              saga(newGid('bad'), 'r'),
            ),
          ),
          String(amount),
        ).to.deep.equal({ code: Status.INVALID_ARGUMENT, reason: 'INVALID_AMOUNT' });
      }
      expect(
        await refusal(
          client.usePoints({ userId: carol, amount: 1, reference: '' }, saga(newGid('bad'), 'u')),
        ),
      ).to.deep.equal({ code: Status.INVALID_ARGUMENT, reason: 'INVALID_ARGUMENT' });
      expect(await audit(carol)).to.equal(100);
    });

    it('lets exactly 20 of 50 concurrent uses of 100 through on a balance of 2,000', async () => {
      const dave = user('dave');
      await charge(dave, 2000);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) =>
          client.usePoints(
            { userId: dave, amount: 100, reference: `pay-${i}` },
            saga(newGid('race'), 'use-points'),
          ),
        ),
      );
      const balances = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.balance] : []));
      expect(balances).to.have.length(20);
      expect([...balances].sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: 20 }, (_, i) => i * 100),
      );
      for (const o of outcomes) {
        if (o.status === 'rejected') {
          expect(errorDetail(o.reason as ServiceError).reason).to.equal('INSUFFICIENT_POINTS');
        }
      }
      expect(await audit(dave)).to.equal(0);
    });
  });

  describe('RestorePoints and RefundPoints', () => {
    it('restores exactly what a use debited, once, as its compensation', async () => {
      const erin = user('erin');
      await charge(erin, 1000);
      const gid = newGid('comp');
      await client.usePoints(
        { userId: erin, amount: 250, reference: 'pay-c' },
        saga(gid, 'use-points'),
      );
      // A compensation carries ids only: the action's stored result says how much to give back.
      const undo = { reference: 'pay-c' };
      await Promise.all([
        client.restorePoints(undo, saga(gid, 'use-points', 'compensate')),
        client.restorePoints(undo, saga(gid, 'use-points', 'compensate')),
      ]);
      expect(await audit(erin)).to.equal(1000);
      await client.restorePoints(undo, saga(gid, 'use-points', 'compensate'));
      expect(await ledger(erin)).to.have.deep.members([
        ['CHARGE', 1000, 1000, (await ledger(erin))[0][3]],
        ['USE', 250, 750, 'pay-c'],
        ['REFUND', 250, 1000, 'pay-c'],
      ]);
      expect(await audit(erin)).to.equal(1000);
    });

    it('restores nothing before its use, and refuses that use later', async () => {
      const frank = user('frank');
      await charge(frank, 400);
      const gid = newGid('early');
      await client.restorePoints({ reference: 'pay-e' }, saga(gid, 'use-points', 'compensate'));
      expect(await audit(frank)).to.equal(400);
      expect(
        await refusal(
          client.usePoints(
            { userId: frank, amount: 100, reference: 'pay-e' },
            saga(gid, 'use-points'),
          ),
        ),
      ).to.deep.equal({ code: Status.ABORTED, reason: 'BRANCH_REFUSED' });
      expect(await audit(frank)).to.equal(400);
    });

    it('as a forward step of Refund, credits the amount asked, once per branch', async () => {
      const gina = user('gina');
      await charge(gina, 100);
      await client.usePoints(
        { userId: gina, amount: 100, reference: 'pay-r' },
        saga(newGid('r'), 'use-points'),
      );
      const gid = newGid('refund');
      const refund = { userId: gina, amount: 100, reference: 'pay-r' };
      expect(await client.refundPoints(refund, saga(gid, 'refund-points'))).to.deep.equal({
        balance: 100,
      });
      expect(await client.refundPoints(refund, saga(gid, 'refund-points'))).to.deep.equal({
        balance: 100,
      });
      const xaGid = newGid('refund');
      expect(await client.refundPoints({ ...refund, amount: 5 }, xa(xaGid))).to.deep.equal({
        balance: 105,
      });
      await phaseTwo(phase2, ctx.trust, xaGid, 'point', 'commit');
      expect(await refusal(client.refundPoints({ ...refund, amount: 7 }))).to.deep.equal({
        code: Status.UNAUTHENTICATED,
        reason: 'UNAUTHENTICATED',
      });
      expect(await audit(gina)).to.equal(105);
    });
  });

  describe('XA branches', () => {
    it('leaves balance, ledger and outbox unchanged when a prepared use is rolled back', async () => {
      const hank = user('hank');
      await charge(hank, 900);
      const before = { ledger: await ledger(hank), events: await events(hank) };
      const gid = newGid('xa');
      expect(
        await client.usePoints({ userId: hank, amount: 400, reference: 'pay-xa' }, xa(gid)),
      ).to.deep.equal({ balance: 500 });
      expect(await preparedBranches()).to.deep.equal([gid]);
      await phaseTwo(phase2, ctx.trust, gid, 'point', 'rollback');
      await phaseTwo(phase2, ctx.trust, gid, 'point', 'rollback');
      expect(await balance(hank)).to.equal(900);
      expect({ ledger: await ledger(hank), events: await events(hank) }).to.deep.equal(before);
      expect(await preparedBranches()).to.deep.equal([]);
    });

    it('applies a prepared use once when it is committed (twice)', async () => {
      const ivy = user('ivy');
      await charge(ivy, 900);
      const gid = newGid('xa');
      await client.usePoints({ userId: ivy, amount: 400, reference: 'pay-xa' }, xa(gid));
      expect(await balance(ivy)).to.equal(900); // prepared: not visible yet
      await phaseTwo(phase2, ctx.trust, gid, 'point', 'commit');
      await phaseTwo(phase2, ctx.trust, gid, 'point', 'commit');
      expect(await ledger(ivy)).to.have.length(2);
      expect(await audit(ivy)).to.equal(500);
      expect(await preparedBranches()).to.deep.equal([]);
    });
  });

  // Mocha runs a suite's own tests before its nested suites: this one sits in the last suite.
  describe('after everything above', () => {
    it('has every balance equal to its ledger, and exactly one event per committed change', async () => {
      expect(users.size).to.be.above(5);
      for (const u of users) await audit(u);
      const [counts] = await db.query<{ events: number; entries: number }>(
        'SELECT (SELECT COUNT(*) FROM outbox) AS events, (SELECT COUNT(*) FROM point_ledger) AS entries',
      );
      expect(Number(counts.events)).to.equal(Number(counts.entries));
    });
  });
});
