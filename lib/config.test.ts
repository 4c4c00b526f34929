import { expect } from 'chai';
import { DEFAULT_DATAPLATFORM_URL, SERVICE_NAMES, loadConfig } from './config';

describe('loadConfig: the services a process hosts', () => {
  const services = (env: Record<string, string>) => loadConfig(env).services;
  const ELSEWHERE = 'http://127.0.0.1:9999/events';
  const withoutMock = SERVICE_NAMES.filter((n) => n !== 'dataplatform-mock');

  it('SERVICES=all with the default DATAPLATFORM_URL: every service, the bundled mock too', () => {
    expect(services({})).to.deep.equal([...SERVICE_NAMES]);
    expect(services({ SERVICES: 'all', DATAPLATFORM_URL: DEFAULT_DATAPLATFORM_URL })).to.deep.equal(
      [...SERVICE_NAMES],
    );
  });

  it('SERVICES=all with another DATAPLATFORM_URL: no mock on that platform port', () => {
    expect(services({ DATAPLATFORM_URL: ELSEWHERE })).to.deep.equal(withoutMock);
    // Only the exact default counts: the same port spelt otherwise is someone else's address.
    expect(services({ DATAPLATFORM_URL: 'http://localhost:8090/events' })).to.deep.equal(
      withoutMock,
    );
  });

  it('DATAPLATFORM_MOCK=on or off decides for SERVICES=all, whatever the URL', () => {
    expect(services({ DATAPLATFORM_URL: ELSEWHERE, DATAPLATFORM_MOCK: 'on' })).to.deep.equal([
      ...SERVICE_NAMES,
    ]);
    expect(services({ DATAPLATFORM_MOCK: 'off' })).to.deep.equal(withoutMock);
    expect(services({ DATAPLATFORM_URL: ELSEWHERE, DATAPLATFORM_MOCK: 'auto' })).to.deep.equal(
      withoutMock,
    );
  });

  it('a SERVICES list starts exactly what it names, the mock included', () => {
    const envs: Record<string, string>[] = [
      {},
      { DATAPLATFORM_URL: ELSEWHERE },
      { DATAPLATFORM_MOCK: 'off' },
    ];
    for (const env of envs) {
      expect(services({ ...env, SERVICES: 'dataplatform,dataplatform-mock' })).to.deep.equal([
        'dataplatform',
        'dataplatform-mock',
      ]);
      expect(services({ ...env, SERVICES: 'gateway' })).to.deep.equal(['gateway']);
    }
  });

  it('refuses a DATAPLATFORM_MOCK other than auto, on or off', () => {
    expect(() => loadConfig({ DATAPLATFORM_MOCK: 'yes' })).to.throw(
      'DATAPLATFORM_MOCK must be one of auto, on, off, got "yes"',
    );
  });
});
