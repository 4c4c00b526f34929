import { expect } from 'chai';
import { parseBenchArgs, parseDuration, parseTopology } from './args';

describe('bench command line', () => {
  it('reads durations in s, ms, m, or bare seconds', () => {
    expect(parseDuration('20s')).to.equal(20_000);
    expect(parseDuration('1500ms')).to.equal(1500);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(parseDuration('0.5')).to.equal(500);
  });

  it('refuses what is not a positive duration', () => {
    for (const bad of ['', 'soon', '-1s', '0s', '10h']) {
      expect(() => parseDuration(bad), bad).to.throw();
    }
  });

  it('defaults to the full run: 20 s phases, 24 users, both modes, 1,000 holds on the hot seat', () => {
    const a = parseBenchArgs([]);
    expect(a).to.deep.include({
      durationMs: 20_000,
      users: 24,
      modes: ['saga', 'xa'],
      smoke: false,
      out: 'bench/results',
      hotSeat: 1000,
      warmupMs: 3000,
      topology: 'one',
      requests: undefined,
    });
    expect(a.scenarios).to.deep.equal(['journey', 'flows', 'hotseat', 'poll', 'baselines']);
  });

  it('makes --smoke short and small, writing under the ignored tmp folder', () => {
    expect(parseBenchArgs(['--smoke'])).to.deep.include({
      durationMs: 300,
      users: 4,
      hotSeat: 50,
      warmupMs: 100,
      out: 'bench/results/tmp',
      smoke: true,
    });
  });

  it('takes explicit values over the defaults, smoke or not', () => {
    const a = parseBenchArgs([
      '--smoke',
      '--duration',
      '2s',
      '--users',
      '8',
      '--modes',
      'xa',
      '--requests',
      '500',
      '--scenarios',
      'flows,baselines',
      '--mesh-env',
      'LOG_LEVEL=warn',
      '--mesh-env',
      'OTEL_SDK_DISABLED=true',
    ]);
    expect(a).to.deep.include({ durationMs: 2000, users: 8, modes: ['xa'], requests: 500 });
    expect(a.scenarios).to.deep.equal(['flows', 'baselines']);
    expect(a.meshEnv).to.deep.equal({ LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' });
  });

  it('groups the mesh into processes: one, each, or explicit groups naming every service once', () => {
    expect(parseTopology('one')).to.equal(undefined);
    expect(parseTopology('each')).to.have.length(10);
    expect(
      parseTopology(
        'gateway,queue/coordinator,ops/concert,reservation,payment,point,dataplatform,dataplatform-mock',
      ),
    ).to.deep.equal([
      { name: 'p0-gateway', services: 'gateway,queue' },
      { name: 'p1-coordinator', services: 'coordinator,ops' },
      {
        name: 'p2-concert',
        services: 'concert,reservation,payment,point,dataplatform,dataplatform-mock',
      },
    ]);
    expect(() => parseTopology('gateway,queue')).to.throw(/no group hosts concert/);
    expect(() => parseTopology('each/gateway')).to.throw();
    expect(() =>
      parseTopology(
        'gateway,queue/queue,coordinator,ops,concert,reservation,payment,point,dataplatform,dataplatform-mock',
      ),
    ).to.throw(/queue is in two groups/);
  });

  it('refuses unknown modes, scenarios, options and malformed numbers', () => {
    expect(() => parseBenchArgs(['--modes', 'saga,2pc'])).to.throw(/unknown "2pc"/);
    expect(() => parseBenchArgs(['--scenarios', 'everything'])).to.throw(/unknown/);
    expect(() => parseBenchArgs(['--users', '0'])).to.throw(/positive integer/);
    expect(() => parseBenchArgs(['--topology', 'mesh'])).to.throw(/unknown service "mesh"/);
    expect(() => parseBenchArgs(['--mesh-env', 'NOVALUE'])).to.throw(/KEY=VALUE/);
    expect(() => parseBenchArgs(['--fast'])).to.throw();
  });
});
