import { expect } from 'chai';
import { DomainError } from '../../lib/errors';
import {
  expectedState,
  inDoubt,
  pageToken,
  parseTxQuery,
  shownState,
  type TxQueryInput,
} from './rules';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const EMPTY: TxQueryInput = {
  state: '',
  limit: 0,
  flow: '',
  mode: '',
  minAgeSeconds: 0,
  maxAgeSeconds: 0,
  userId: '',
  reservationId: '',
  paymentId: '',
  pageToken: '',
};

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.metadata.field : 'not a DomainError';
  }
  return undefined;
}

describe("the operator's view of the log", () => {
  it('shows a parked open transaction as STUCK, and an ended one as it ended', () => {
    const parkedAt = new Date();
    expect(shownState({ state: 'COMMITTING', parkedAt })).to.equal('STUCK');
    expect(shownState({ state: 'COMMITTING', parkedAt: null })).to.equal('COMMITTING');
    expect(shownState({ state: 'ABORTED', parkedAt })).to.equal('ABORTED');
  });

  it('calls in doubt only an XA transaction RUNNING at or past its deadline', () => {
    const deadlineAt = NOW;
    expect(inDoubt({ mode: 'xa', state: 'RUNNING', deadlineAt }, NOW)).to.equal(true);
    expect(
      inDoubt({ mode: 'xa', state: 'RUNNING', deadlineAt }, new Date(NOW.getTime() - 1)),
    ).to.equal(false);
    expect(inDoubt({ mode: 'xa', state: 'COMMITTING', deadlineAt }, NOW)).to.equal(false);
    expect(inDoubt({ mode: 'saga', state: 'RUNNING', deadlineAt }, NOW)).to.equal(false);
  });

  it('turns ages into bounds on the start and keeps only the filters given', () => {
    const q = parseTxQuery(
      {
        ...EMPTY,
        state: 'IN_DOUBT',
        flow: 'pay',
        mode: 'xa',
        minAgeSeconds: 60,
        maxAgeSeconds: 3600,
        userId: 'u_1',
      },
      NOW,
    );
    expect(q).to.deep.equal({
      filter: {
        state: 'IN_DOUBT',
        flow: 'pay',
        mode: 'xa',
        createdUpTo: new Date('2030-01-01T11:59:00.000Z'),
        createdFrom: new Date('2030-01-01T11:00:00.000Z'),
        userId: 'u_1',
      },
      limit: 50,
      after: undefined,
    });
  });

  it('reads back the page token it gave, and refuses any other', () => {
    const last = {
      createdAt: new Date('2030-01-01T11:00:00.123Z'),
      gid: '01m9b2c6ph4wq2m7t0q0dq3x0a',
    };
    expect(parseTxQuery({ ...EMPTY, pageToken: pageToken(last) }, NOW).after).to.deep.equal(last);
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, pageToken: 'bm90IGEgdG9rZW4' }, NOW))).to.equal(
      'pageToken',
    );
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, pageToken: 'a b' }, NOW))).to.equal('pageToken');
  });

  it('names the field of every filter it refuses', () => {
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, state: 'LOST' }, NOW))).to.equal('state');
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, flow: 'transfer' }, NOW))).to.equal('flow');
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, mode: '2pc' }, NOW))).to.equal('mode');
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, limit: 501 }, NOW))).to.equal('limit');
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, minAgeSeconds: -1 }, NOW))).to.equal(
      'minAgeSeconds',
    );
    expect(
      fieldOf(() => parseTxQuery({ ...EMPTY, minAgeSeconds: 60, maxAgeSeconds: 30 }, NOW)),
    ).to.equal('maxAgeSeconds');
    expect(fieldOf(() => parseTxQuery({ ...EMPTY, paymentId: 'x'.repeat(65) }, NOW))).to.equal(
      'paymentId',
    );
  });

  it('takes as the state an operator saw any state a transaction is shown in, not IN_DOUBT', () => {
    expect(expectedState('STUCK')).to.equal('STUCK');
    expect(expectedState('COMMITTED')).to.equal('COMMITTED');
    expect(fieldOf(() => expectedState('IN_DOUBT'))).to.equal('expectedState');
    expect(fieldOf(() => expectedState(''))).to.equal('expectedState');
  });
});
