// Unit test of the diagnostic-report options the chaos mesh hands its processes.
import { expect } from 'chai';
import { reportOptions } from './mesh';

describe('chaos mesh report options', () => {
  it('adds the report-on-signal options to what NODE_OPTIONS already held', () => {
    expect(reportOptions('/tmp/run')).to.equal(
      '--report-on-signal --report-signal=SIGUSR2 --report-directory=/tmp/run',
    );
    expect(reportOptions('/tmp/run', '--max-old-space-size=512')).to.match(
      /^--max-old-space-size=512 --report-on-signal /,
    );
    expect(reportOptions('/tmp/a run')).to.match(/--report-directory="\/tmp\/a run"$/);
  });
});
