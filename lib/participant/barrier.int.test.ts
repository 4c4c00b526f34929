import { expect } from 'chai';
import { DomainError } from '../errors';
import { armFailpoints } from '../failpoints';
import { testDatabase, type TestDatabase } from '../../test/support/infra';
import { sagaAction, sagaCompensate } from './barrier';
import { PARTICIPANT_MIGRATIONS } from './migrations';

describe('saga barrier (real MariaDB)', () => {
  let t: TestDatabase;

  before(async () => {
    t = await testDatabase('point', PARTICIPANT_MIGRATIONS);
    await t.db.execute('CREATE TABLE effects (gid VARCHAR(64), what VARCHAR(16))');
  });
  after(() => t.drop());

  const effects = async (gid: string) =>
    (
      await t.db.query<{ what: string }>('SELECT what FROM effects WHERE gid = ? ORDER BY what', [
        gid,
      ])
    ).map((r) => r.what);
  const act = (gid: string) =>
    sagaAction(t.db, gid, 'b1', async (tx) => {
      await tx.execute("INSERT INTO effects VALUES (?, 'action')", [gid]);
      return { amount: 42 };
    });
  const compensate = (gid: string, seen: unknown[] = []) =>
    sagaCompensate<{ amount: number }>(t.db, gid, 'b1', async (tx, result) => {
      seen.push(result);
      await tx.execute("INSERT INTO effects VALUES (?, 'undo')", [gid]);
    });

  it('runs a duplicate action once and returns the first result to both', async () => {
    const results = await Promise.all([act('g1'), act('g1'), act('g1')]);
    expect(results).to.deep.equal([{ amount: 42 }, { amount: 42 }, { amount: 42 }]);
    expect(await effects('g1')).to.deep.equal(['action']);
  });

  it('returns a stored result that is itself a string, or nothing, as the first run returned it', async () => {
    for (const [gid, value] of [
      ['g-text', 'seat 7'],
      ['g-json-text', '{"not":"parsed"}'],
      ['g-none', undefined],
    ] as const) {
      let runs = 0;
      const once = () =>
        sagaAction(t.db, gid, 'b1', async () => {
          runs += 1;
          return value;
        });
      const seen: unknown[] = [];
      expect(await once()).to.equal(value);
      // The repeat collides with the first run's barrier row and answers its stored result.
      expect(await once()).to.equal(value ?? null);
      await sagaCompensate<unknown>(t.db, gid, 'b1', async (_tx, result) => {
        seen.push(result);
      });
      expect(seen).to.deep.equal([value ?? null]);
      expect(runs).to.equal(2);
    }
  });

  it('runs a duplicate compensation once, with the action result', async () => {
    await act('g2');
    const seen: unknown[] = [];
    await Promise.all([compensate('g2', seen), compensate('g2', seen)]);
    expect(seen).to.deep.equal([{ amount: 42 }]);
    expect(await effects('g2')).to.deep.equal(['action', 'undo']);
  });

  it('lets a compensation before its action succeed without doing anything', async () => {
    const seen: unknown[] = [];
    await compensate('g3', seen);
    expect(seen).to.deep.equal([]);
    expect(await effects('g3')).to.deep.equal([]);
  });

  it('refuses an action that arrives after its compensation (no hanging)', async () => {
    await compensate('g4');
    let refused: unknown;
    try {
      await act('g4');
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(DomainError);
    expect((refused as DomainError).reason).to.equal('BRANCH_REFUSED');
    expect(await effects('g4')).to.deep.equal([]);
  });

  it('returns the stored result to a repeat whose body refuses or collides, finding the first run’s change', async () => {
    await t.db.execute('CREATE TABLE once_only (gid VARCHAR(64) PRIMARY KEY)');
    const insertOnce = (gid: string) =>
      sagaAction(t.db, gid, 'b1', async (tx) => {
        await tx.execute('INSERT INTO once_only VALUES (?)', [gid]);
        return { first: true };
      });
    const refuseIfDone = (gid: string) =>
      sagaAction(t.db, gid, 'b2', async (tx) => {
        const res = await tx.execute(
          "UPDATE effects SET what = 'paid' WHERE gid = ? AND what = 'due'",
          [gid],
        );
        if (res.affectedRows !== 1) throw new DomainError('BRANCH_REFUSED', 'nothing due');
        return { paid: 1 };
      });
    expect(await insertOnce('g6')).to.deep.equal({ first: true });
    expect(await insertOnce('g6')).to.deep.equal({ first: true });
    await t.db.execute("INSERT INTO effects VALUES ('g6', 'due')");
    expect(await refuseIfDone('g6')).to.deep.equal({ paid: 1 });
    expect(await refuseIfDone('g6')).to.deep.equal({ paid: 1 });
    expect(await effects('g6')).to.deep.equal(['paid']);
  });

  it('refuses and rolls back an action that was running when its compensation came and went', async () => {
    let entered!: () => void;
    const inBody = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slow = sagaAction(t.db, 'g7', 'b1', async (tx) => {
      await tx.execute("INSERT INTO effects VALUES (?, 'action')", ['g7']);
      entered();
      await released;
      return { amount: 42 };
    }).catch((e: unknown) => e);
    await inBody;
    const seen: unknown[] = [];
    await compensate('g7', seen);
    expect(seen, 'the action had not run: nothing to undo').to.deep.equal([]);
    release();
    const refused = await slow;
    expect(refused).to.be.instanceOf(DomainError);
    expect((refused as DomainError).reason).to.equal('BRANCH_REFUSED');
    expect(await effects('g7')).to.deep.equal([]);
  });

  it('leaves no barrier row behind when the action body refuses', async () => {
    let refused: unknown;
    try {
      await sagaAction(t.db, 'g5', 'b1', async () => {
        throw new DomainError('INSUFFICIENT_POINTS', 'no');
      });
    } catch (err) {
      refused = err;
    }
    expect((refused as DomainError).reason).to.equal('INSUFFICIENT_POINTS');
    expect(await t.db.query('SELECT * FROM tx_barrier WHERE gid = ?', ['g5'])).to.have.length(0);
  });

  it('answers UNAVAILABLE, not the repeat’s refusal, when the barrier cannot be asked', async () => {
    await t.db.execute("INSERT INTO effects VALUES ('g8', 'due')");
    const payOnce = () =>
      sagaAction(t.db, 'g8', 'b1', async (tx) => {
        const res = await tx.execute(
          "UPDATE effects SET what = 'paid' WHERE gid = ? AND what = 'due'",
          ['g8'],
        );
        if (res.affectedRows !== 1) throw new DomainError('RESERVATION_ALREADY_PAID', 'paid');
        return { paid: 1 };
      });
    expect(await payOnce()).to.deep.equal({ paid: 1 });
    // The retry finds its own first run's change; only the barrier can say it was its own.
    armFailpoints(['participant.barrier.lookup=1*error(2013)']);
    try {
      const refused = await payOnce().catch((e: unknown) => e);
      expect((refused as DomainError).reason).to.equal('UNAVAILABLE');
    } finally {
      armFailpoints([]);
    }
    // Asked again once the barrier answers: the first result.
    expect(await payOnce()).to.deep.equal({ paid: 1 });
  });
});
