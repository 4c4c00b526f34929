import { expect } from 'chai';
import { Session, type SqlParam } from './db';

/** A connection that records each round trip and answers every statement with its index. */
function recordingConnection() {
  const trips: { sql: string; params: SqlParam[] }[] = [];
  const core = {
    query(sql: string, params: SqlParam[], done: (err: Error | null, result: unknown) => void) {
      trips.push({ sql, params });
      const count = sql.split(';\n').length;
      const results = Array.from({ length: count }, (_, i) => ({ statement: i }));
      setImmediate(() => done(null, count === 1 ? results[0] : results));
    },
  };
  return { core, trips };
}

describe('Session (round trips of one transaction)', () => {
  const START = { sql: 'START TRANSACTION', params: [] };

  it('sends the opening statement with the first one and answers with that statement’s own result', async () => {
    const { core, trips } = recordingConnection();
    const tx = new Session(core, [START]);
    const first = await tx.execute('UPDATE seat SET status = ? WHERE id = ?', ['HELD', 7]);
    const second = await tx.query('SELECT 1');
    expect(trips).to.deep.equal([
      {
        sql: 'START TRANSACTION;\nUPDATE seat SET status = ? WHERE id = ?',
        params: ['HELD', 7],
      },
      { sql: 'SELECT 1', params: [] },
    ]);
    expect(first).to.deep.equal({ statement: 1 });
    expect(second).to.deep.equal({ statement: 0 });
  });

  it('holds writes until the end and sends them with the closing statements in one trip', async () => {
    const { core, trips } = recordingConnection();
    const tx = new Session(core, [START]);
    await tx.execute('UPDATE wallet SET balance = balance - ?', [5]);
    await tx.writeAtEnd('INSERT INTO outbox VALUES (?)', ['e1']);
    await tx.writeAtEnd('INSERT INTO ledger VALUES (?)', ['l1']);
    expect(trips).to.have.length(1);
    await tx.end([{ sql: 'COMMIT', params: [] }]);
    expect(trips[1]).to.deep.equal({
      sql: 'INSERT INTO outbox VALUES (?);\nINSERT INTO ledger VALUES (?);\nCOMMIT',
      params: ['e1', 'l1'],
    });
  });

  it('opens the transaction in the closing trip when only held writes were made', async () => {
    const { core, trips } = recordingConnection();
    const tx = new Session(core, [START]);
    await tx.writeAtEnd('INSERT INTO outbox VALUES (?)', ['e1']);
    await tx.end([{ sql: 'COMMIT', params: [] }]);
    expect(trips).to.deep.equal([
      { sql: 'START TRANSACTION;\nINSERT INTO outbox VALUES (?);\nCOMMIT', params: ['e1'] },
    ]);
  });

  it('sends a change and its read in one trip (with the opening) and answers both', async () => {
    const { core, trips } = recordingConnection();
    const tx = new Session(core, [START]);
    const out = await tx.changeAndRead(
      { sql: 'UPDATE seat SET status = ? WHERE id = ?', params: ['SOLD', 7] },
      { sql: 'SELECT * FROM seat WHERE id = ?', params: [7] },
    );
    expect(trips).to.deep.equal([
      {
        sql: 'START TRANSACTION;\nUPDATE seat SET status = ? WHERE id = ?;\nSELECT * FROM seat WHERE id = ?',
        params: ['SOLD', 7, 7],
      },
    ]);
    // The recording connection answers each statement with its index: the read is the third.
    expect(out.rows).to.deep.equal({ statement: 2 });
  });

  it('sends nothing for a transaction that never ran a statement, unless told to', async () => {
    const { core, trips } = recordingConnection();
    await new Session(core, [START]).end([{ sql: 'COMMIT', params: [] }]);
    expect(trips).to.deep.equal([]);
    await new Session(core).end([{ sql: 'XA END ?', params: ['g'] }], true);
    expect(trips).to.deep.equal([{ sql: 'XA END ?', params: ['g'] }]);
  });
});
