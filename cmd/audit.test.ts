// Unit tests of cmd/audit.ts's arguments.
import { expect } from 'chai';
import { UsageError, parseAuditArgs } from './audit';

describe('audit command (arguments)', () => {
  it('checks everything but the mock by default', () => {
    expect(parseAuditArgs([])).to.deep.equal({ json: false, events: true, broker: true });
  });

  it('reads --json, --mock and the opt-outs', () => {
    expect(
      parseAuditArgs(['--json', '--mock', 'http://127.0.0.1:8090', '--no-events', '--no-broker']),
    ).to.deep.equal({
      json: true,
      events: false,
      broker: false,
      mockUrl: 'http://127.0.0.1:8090',
    });
    expect(parseAuditArgs(['--mock=http://m:1/events'])).to.include({
      mockUrl: 'http://m:1/events',
    });
  });

  it('refuses what it does not understand', () => {
    for (const argv of [['--mock'], ['--mock', 'ftp://x'], ['--verbose'], ['extra']])
      expect(() => parseAuditArgs(argv), argv.join(' ')).to.throw(UsageError);
    expect(parseAuditArgs(['-h'])).to.equal('help');
  });
});
