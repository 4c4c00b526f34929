import { expect } from 'chai';
import { TxState, type Transaction } from '../gen/boxoffice/coordinator/v1/coordinator';
import { UsageError, formatList, listRequest, parseTxArgs, stateText, txJson } from './tx';

const TX: Transaction = {
  gid: '01m9b2c6ph4wq2m7t0q0dq3x0a',
  flow: 'pay',
  mode: 'xa',
  state: TxState.STUCK,
  stuckIn: TxState.COMMITTING,
  attempts: 3,
  lastError: 'phase 2 commit:\n UNAVAILABLE',
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:05.000Z',
  deadlineAt: '2030-01-01T00:00:30.000Z',
  parkedAt: '2030-01-01T00:00:05.000Z',
  inDoubt: false,
  userId: 'u1',
  reservationId: 'r1',
  paymentId: 'p1',
  nextAttemptAt: '',
  input: '{}',
  outcome: '',
  traceId: '',
  branches: [],
  history: [
    { at: '2030-01-01T00:00:01.000Z', event: 'MOVED', state: TxState.COMMITTING, detail: '' },
  ],
  actions: [],
};

describe('tx command (arguments and output)', () => {
  it('parses a listing with its filters, numbers as numbers and states upper-cased', () => {
    expect(
      parseTxArgs(['list', '--state', 'stuck', '--min-age', '60', '--user', 'u1', '--json']),
    ).to.deep.equal({
      command: 'list',
      filters: { state: 'STUCK', minAgeSeconds: 60, userId: 'u1' },
      json: true,
    });
    expect(listRequest({ state: 'IN_DOUBT', limit: 5 })).to.include({
      state: TxState.IN_DOUBT,
      limit: 5,
      flow: '',
    });
  });

  it('parses actions with and without the state the operator expects', () => {
    expect(parseTxArgs(['retry', 'g1', '--expect', 'stuck'])).to.deep.equal({
      command: 'retry',
      gid: 'g1',
      expect: 'STUCK',
      json: false,
    });
    expect(parseTxArgs(['decide', 'g1'])).to.deep.equal({
      command: 'decide',
      gid: 'g1',
      expect: undefined,
      json: false,
    });
    expect(parseTxArgs(['show', 'g1', '--json'])).to.deep.equal({
      command: 'show',
      gid: 'g1',
      json: true,
    });
  });

  it('refuses what it cannot read, naming it', () => {
    const refusal = (argv: string[]) => {
      try {
        parseTxArgs(argv);
      } catch (err) {
        return err instanceof UsageError ? err.message : 'not a UsageError';
      }
      return 'accepted';
    };
    expect(refusal([])).to.equal('missing command');
    expect(refusal(['purge'])).to.match(/unknown command "purge"/);
    expect(refusal(['retry'])).to.equal('retry needs a gid');
    expect(refusal(['list', '--limit', 'ten'])).to.equal('--limit needs a whole number');
    expect(refusal(['list', '--state'])).to.equal('--state needs a value');
    expect(refusal(['show', 'g1', '--expect', 'STUCK'])).to.equal(
      'unknown option --expect for show',
    );
    expect(() => listRequest({ state: 'LOST' })).to.throw(
      UsageError,
      '--state: unknown state LOST',
    );
    expect(parseTxArgs(['list', '--help'])).to.equal('help');
  });

  it('writes a stuck transaction with the state it is stuck in, errors on one line', () => {
    expect(stateText(TX)).to.equal('STUCK in COMMITTING');
    const text = formatList({
      transactions: [TX],
      nextPageToken: 'abc',
      counts: [{ state: TxState.STUCK, count: 1 }],
    });
    expect(text.split('\n')).to.deep.equal([
      'GID                         FLOW  MODE  STATE                ATTEMPTS  BEGUN                     LAST ERROR',
      '01m9b2c6ph4wq2m7t0q0dq3x0a  pay   xa    STUCK in COMMITTING  3         2030-01-01T00:00:00.000Z  phase 2 commit: UNAVAILABLE',
      'STUCK 1',
      'next page: --page-token abc',
      '',
    ]);
  });

  it('names states in JSON', () => {
    expect(txJson(TX)).to.deep.include({
      state: 'STUCK',
      stuckIn: 'COMMITTING',
      history: [
        { at: '2030-01-01T00:00:01.000Z', event: 'MOVED', state: 'COMMITTING', detail: '' },
      ],
    });
  });
});
