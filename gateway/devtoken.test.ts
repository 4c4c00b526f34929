import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { signAccessToken } from './auth';
import { parseTokenArgs, UsageError } from './devtoken';

describe('dev token arguments', () => {
  it('parses user, admin and ttl', () => {
    expect(parseTokenArgs(['--user', 'u1'])).to.deep.equal({
      userId: 'u1',
      admin: false,
      ttlSeconds: 3600,
      grpc: false,
      as: 'gateway',
    });
    expect(parseTokenArgs(['--user=u1', '--admin', '--ttl', '60'])).to.deep.equal({
      userId: 'u1',
      admin: true,
      ttlSeconds: 60,
      grpc: false,
      as: 'gateway',
    });
    expect(parseTokenArgs(['--ttl=5', '--user', 'u_2-x'])).to.deep.equal({
      userId: 'u_2-x',
      admin: false,
      ttlSeconds: 5,
      grpc: false,
      as: 'gateway',
    });
    expect(parseTokenArgs(['--user', 'u1', '--grpc'])).to.deep.include({
      userId: 'u1',
      grpc: true,
    });
    expect(parseTokenArgs(['--grpc', '--as', 'operator'])).to.deep.include({
      userId: undefined,
      grpc: true,
      as: 'operator',
    });
    expect(parseTokenArgs(['--help'])).to.equal('help');
  });

  it('refuses bad arguments', () => {
    const bad = [
      [],
      ['--user'],
      ['--user', '--admin'],
      ['--user', 'a b'],
      ['--user', 'x'.repeat(65)],
      ['--user', 'u1', '--ttl', '0'],
      ['--as', 'operator'],
      ['--user', 'u1', '--grpc', '--as', 'operator'],
      ['--user', 'u1', '--ttl', '1.5'],
      ['--user', 'u1', '--ttl', '-3'],
      ['--user', 'u1', '--ttl', String(366 * 24 * 3600)],
      ['--user', 'u1', '--admin=yes'],
      ['--user', 'u1', '--role', 'admin'],
      ['u1'],
    ];
    for (const argv of bad) expect(() => parseTokenArgs(argv), argv.join(' ')).to.throw(UsageError);
  });

  it('signs what the gateway expects', async () => {
    const token = await signAccessToken('a-secret-of-16-chars', {
      userId: 'u1',
      admin: true,
      ttlSeconds: 60,
      nowSeconds: 1000,
    });
    expect(decodeJwt(token)).to.deep.equal({ sub: 'u1', role: 'admin', iat: 1000, exp: 1060 });
  });
});
