// The participant library against real MariaDB: how a branch answers a lock error, how a
// failed compensation leaves nothing behind, and which of its events wait for the end of their
// transaction, in every mode. (A late call is refused before the branch runs: its server
// checks the context's expiry, lib/grpc/access.ts.)
import { expect } from 'chai';
import type { TxContext } from './context';
import { DomainError } from '../errors';
import { armFailpoints } from '../failpoints';
import { newId } from '../ids';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { sagaContext, testXaBranches, xaContext, type TestXaBranches } from '../../test/support/tx';
import { PARTICIPANT_MIGRATIONS } from './migrations';
import { Participant, type ActionOptions } from './participant';

describe('participant branches (real MariaDB)', () => {
  let t: TestDatabase;
  let branches: TestXaBranches;
  let participant: Participant;

  before(async () => {
    t = await testDatabase('point', PARTICIPANT_MIGRATIONS);
    await t.db.execute('CREATE TABLE acct (id VARCHAR(64) PRIMARY KEY, v INT NOT NULL)');
    branches = testXaBranches(t.config);
    participant = new Participant('test', t.db, branches.xa);
  });
  afterEach(() => armFailpoints([]));
  after(async () => {
    await branches.close();
    await t.drop();
  });

  const value = async (id: string) =>
    (await t.db.query<{ v: number }>('SELECT v FROM acct WHERE id = ?', [id]))[0]?.v;
  const outbox = (id: string) =>
    t.db.query<{ type: string; hold_gid: string | null }>(
      'SELECT type, hold_gid FROM outbox WHERE aggregate_id = ? ORDER BY id',
      [id],
    );

  /** A branch body: credits acct `id` and announces it. */
  const credit =
    (id: string, opts: ActionOptions = {}) =>
    (ctx: TxContext | undefined) =>
      participant.action(
        ctx,
        async (tx) => {
          await tx.execute('INSERT INTO acct VALUES (?, 5) ON DUPLICATE KEY UPDATE v = v + 5', [
            id,
          ]);
          await tx.emit({ type: 'Credited', version: 1, aggregateId: id, payload: {} });
          return 'credited';
        },
        opts,
      );

  const modes: { name: string; context: (gid: string) => TxContext | undefined }[] = [
    { name: 'local', context: () => undefined },
    { name: 'saga', context: (gid) => sagaContext(gid, 'credit') },
    { name: 'xa', context: (gid) => xaContext(gid, 'test', true) },
  ];

  for (const mode of modes) {
    describe(`${mode.name} branch`, () => {
      for (const errno of [1205, 1213]) {
        it(`answers UNAVAILABLE after error ${errno}, never a business answer, and changes nothing`, async () => {
          const id = newId();
          armFailpoints([`participant.test.after-body=1*error(${errno})`]);
          const refused = await credit(id)(mode.context(newId())).catch((e: unknown) => e);
          expect((refused as DomainError).reason).to.equal('UNAVAILABLE');
          expect(await value(id)).to.equal(undefined);
          expect(await outbox(id)).to.deep.equal([]);
        });
      }

      it('answers the refusal the rows prove after a lock error, read afresh', async () => {
        const id = newId();
        armFailpoints(['participant.test.after-body=1*error(1205)']);
        const explained = credit(id, {
          explainContention: async (reads) => {
            const [row] = await reads.query<{ n: number }>(
              'SELECT COUNT(*) AS n FROM acct WHERE id = ?',
              [id],
            );
            // The body's insert was rolled back: the read sees the committed state.
            expect(Number(row.n)).to.equal(0);
            return new DomainError('SEAT_UNAVAILABLE', 'taken, as the row now says');
          },
        });
        const refused = await explained(mode.context(newId())).catch((e: unknown) => e);
        expect((refused as DomainError).reason).to.equal('SEAT_UNAVAILABLE');
        expect(await value(id)).to.equal(undefined);
      });

      it('answers UNAVAILABLE when the rows prove no refusal', async () => {
        const id = newId();
        armFailpoints(['participant.test.after-body=1*error(1213)']);
        const refused = await credit(id, { explainContention: async () => undefined })(
          mode.context(newId()),
        ).catch((e: unknown) => e);
        expect((refused as DomainError).reason).to.equal('UNAVAILABLE');
      });
    });
  }

  it('rolls a failed compensation back whole, so the next call undoes the action once', async () => {
    const [id, gid] = [newId(), newId()];
    await participant.action(sagaContext(gid, 'credit'), async (tx) => {
      await tx.execute('INSERT INTO acct VALUES (?, 5)', [id]);
      return { id, amount: 5 };
    });
    const undo = () =>
      participant.compensate<{ id: string; amount: number }>(
        sagaContext(gid, 'credit', 'compensate'),
        async (tx, credited) => {
          await tx.execute('UPDATE acct SET v = v - ? WHERE id = ?', [
            credited.amount,
            credited.id,
          ]);
        },
      );
    armFailpoints(['participant.test.after-compensate=1*error(2013)']);
    const failed = await undo().catch((e: unknown) => e);
    expect((failed as { errno?: number }).errno).to.equal(2013);
    expect(await value(id)).to.equal(5);
    await undo();
    await undo(); // a duplicate: done already
    expect(await value(id)).to.equal(0);
  });

  it('holds a saga branch’s events for the end of its transaction; XA and local ones are not held', async () => {
    const [local, saga, xa] = [newId(), newId(), newId()];
    const sagaGid = newId();
    const xaGid = newId();
    await credit(local)(undefined);
    await credit(saga)(sagaContext(sagaGid, 'credit'));
    await credit(xa)(xaContext(xaGid, 'test', true));
    await branches.xa.commit(xaGid);
    expect(await outbox(local)).to.deep.equal([{ type: 'Credited', hold_gid: null }]);
    expect(await outbox(saga)).to.deep.equal([{ type: 'Credited', hold_gid: sagaGid }]);
    expect(await outbox(xa)).to.deep.equal([{ type: 'Credited', hold_gid: null }]);
  });

  it('wakes the relay only for a commit that wrote an event it may publish now', async () => {
    let wakes = 0;
    const woken = new Participant('test', t.db, branches.xa, () => (wakes += 1));
    const write = (ctx: TxContext | undefined, emit: boolean) =>
      woken.action(ctx, async (tx) => {
        await tx.execute('INSERT INTO acct VALUES (?, 1)', [newId()]);
        if (emit)
          await tx.emit({ type: 'Credited', version: 1, aggregateId: newId(), payload: {} });
      });
    await write(undefined, true);
    expect(wakes, 'a local transaction with an event').to.equal(1);
    await write(undefined, false);
    expect(wakes, 'a local transaction without one').to.equal(1);
    // A saga branch's events are held: the housekeeping releases them (and wakes the relay).
    const gid = newId();
    await write(sagaContext(gid, 'credit'), true);
    await woken.compensate(sagaContext(gid, 'credit', 'compensate'), async (tx) => {
      await tx.emit({ type: 'Debited', version: 1, aggregateId: newId(), payload: {} });
    });
    expect(wakes, 'saga branches').to.equal(1);
  });
});
