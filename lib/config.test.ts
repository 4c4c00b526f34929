import { expect } from 'chai';
import { ConfigError, assertProductionSecrets, loadConfig } from './config';

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
