import { expect } from 'chai';
import {
  ConfigError,
  DEFAULT_DATAPLATFORM_URL,
  SERVICE_NAMES,
  assertProductionSecrets,
  loadConfig,
} from './config';

const STRONG = 'x'.repeat(32);

/** The refusal of a production process hosting `services` with env, or undefined. */
function refusal(services: string, env: Record<string, string>): string | undefined {
  const config = loadConfig({
    NODE_ENV: 'production',
    SERVICES: services,
    MESH_KEYS_DIR: '/etc/boxoffice/mesh',
    ...env,
  });
  try {
    assertProductionSecrets(config);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
}

describe('production secrets', () => {
  it('refuses a development default, a placeholder and a short secret, naming the variable', () => {
    expect(refusal('gateway', {})).to.match(/^AUTH_JWT_SECRET is a development default/);
    expect(refusal('gateway', { AUTH_JWT_SECRET: `${STRONG}-change-me` })).to.match(
      /^AUTH_JWT_SECRET is a development default or a placeholder/,
    );
    expect(refusal('gateway', { AUTH_JWT_SECRET: 'y'.repeat(31) })).to.match(
      /^AUTH_JWT_SECRET must be at least 32 bytes/,
    );
    expect(refusal('queue', { QUEUE_TOKEN_SECRET: 'changeme'.repeat(5) })).to.match(
      /^QUEUE_TOKEN_SECRET is a development default or a placeholder/,
    );
    expect(refusal('queue', { QUEUE_TOKEN_SECRET: 'short' })).to.match(
      /^QUEUE_TOKEN_SECRET must be at least 32 bytes/,
    );
  });

  it('asks each process only for the secrets of what it hosts', () => {
    expect(refusal('gateway', { AUTH_JWT_SECRET: STRONG })).to.equal(undefined);
    expect(refusal('queue', { QUEUE_TOKEN_SECRET: STRONG })).to.equal(undefined);
    // A participant needs neither the JWT secret nor the queue's.
    expect(refusal('point', {})).to.equal(undefined);
    expect(refusal('coordinator,point', {})).to.equal(undefined);
  });

  it('requires MESH_KEYS_DIR: keys derived from MESH_SECRET are for development only', () => {
    expect(refusal('point', { MESH_KEYS_DIR: '', MESH_SECRET: STRONG })).to.match(
      /^MESH_KEYS_DIR must be set when NODE_ENV=production/,
    );
    // The bundled mock acts as no identity.
    expect(refusal('dataplatform-mock', { MESH_KEYS_DIR: '' })).to.equal(undefined);
  });

  it('asks nothing outside production', () => {
    const config = loadConfig({ NODE_ENV: 'development', SERVICES: 'all' });
    expect(() => assertProductionSecrets(config)).to.not.throw();
  });
});

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
