// Unit tests of cmd/dlq.ts's pure parts. They belong in cmd/dlq.test.ts; they sit here only
// because this change adds no other file under cmd/ (move them when wiring the command).
import { expect } from 'chai';
import { UsageError, formatParked, parseDlqArgs } from './dlq';

describe('dlq command (arguments and output)', () => {
  it('parses list and replay', () => {
    expect(parseDlqArgs(['list', 'q'])).to.deep.equal({ command: 'list', queue: 'q', json: false });
    expect(parseDlqArgs(['list', '--json', 'q'])).to.deep.equal({
      command: 'list',
      queue: 'q',
      json: true,
    });
    expect(parseDlqArgs(['replay', 'q'])).to.deep.equal({
      command: 'replay',
      queue: 'q',
      eventIds: [],
    });
    expect(parseDlqArgs(['replay', 'q', '--event', 'a', '--event', 'b'])).to.deep.equal({
      command: 'replay',
      queue: 'q',
      eventIds: ['a', 'b'],
    });
  });

  it('answers help', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['list', 'q', '--help']])
      expect(parseDlqArgs(argv)).to.equal('help');
  });

  const usage: [string[], RegExp][] = [
    [[], /missing command/],
    [['purge', 'q'], /unknown command "purge"/],
    [['list'], /list needs a queue/],
    [['replay', '--event', 'a'], /replay needs a queue/],
    [['list', 'q', 'r'], /unexpected argument "r"/],
    [['list', 'q', '--event', 'a'], /unknown option --event for list/],
    [['replay', 'q', '--json'], /unknown option --json for replay/],
    [['replay', 'q', '--event'], /--event needs an event id/],
    [['replay', 'q', '--event', '--event', 'a'], /--event needs an event id/],
    [['list', 'q.parked'], /not its parked queue: "q"/],
  ];
  for (const [argv, message] of usage) {
    it(`refuses "${argv.join(' ')}" as a usage error`, () => {
      expect(() => parseDlqArgs(argv))
        .to.throw(UsageError)
        .with.property('message')
        .that.matches(message);
    });
  }

  it('prints parked messages as an aligned table, one line each', () => {
    const text = formatParked('q', [
      { eventId: 'e1', type: 'ReservationCompleted', attempts: 4, lastError: 'boom', body: '{}' },
      {
        eventId: 'event-22',
        type: 'X',
        attempts: 12,
        lastError: 'two\n  lines',
        body: '{}',
      },
    ]);
    expect(text).to.equal(
      [
        'EVENT ID  TYPE                  ATTEMPTS  LAST ERROR',
        'e1        ReservationCompleted  4         boom',
        'event-22  X                     12        two lines',
        '2 parked message(s) in q.parked',
        '',
      ].join('\n'),
    );
  });

  it('says when nothing is parked', () => {
    expect(formatParked('q', [])).to.equal('no parked messages in q.parked\n');
  });
});
