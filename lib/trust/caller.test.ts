import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { CALLER_METADATA, CALLER_TOKEN_TTL_MS, CallerSigner, CallerVerifier } from './caller';
import { keysFromSecret } from './keys';

describe('caller tokens', () => {
  const keys = keysFromSecret('a mesh');
  const verifier = new CallerVerifier(keys);

  it('proves the service that signed it, and the user only the gateway names', () => {
    const coordinator = new CallerSigner(keys, 'coordinator');
    expect(verifier.check(coordinator.token())).to.deep.equal({
      ok: true,
      caller: { service: 'coordinator' },
    });
    const gateway = new CallerSigner(keys, 'gateway');
    expect(verifier.check(gateway.token({ userId: 'u1', role: 'admin' }))).to.deep.equal({
      ok: true,
      caller: { service: 'gateway', user: { userId: 'u1', role: 'admin' } },
    });
    // Any other service naming a user is refused, though its signature is good.
    expect(verifier.check(coordinator.token({ userId: 'u1', role: 'admin' })).ok).to.equal(false);
  });

  it('reuses a token until near its end, then signs a new one', () => {
    let now = 1_000_000;
    const signer = new CallerSigner(keys, 'queue', () => now);
    const first = signer.token();
    now += 10_000;
    expect(signer.token()).to.equal(first);
    now += CALLER_TOKEN_TTL_MS;
    expect(signer.token()).to.not.equal(first);
  });

  it('refuses a token signed by another mesh, a tampered one, an expired one, a missing one', () => {
    const foreign = new CallerSigner(keysFromSecret('another mesh'), 'coordinator');
    expect(verifier.check(foreign.token())).to.deep.equal({
      ok: false,
      why: 'the caller identity is not signed by its service',
    });
    const token = new CallerSigner(keys, 'point').token();
    const [body, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, iss: 'coordinator' })).toString('base64url')}.${sig}`;
    expect(verifier.check(forged).ok).to.equal(false);
    const old = new CallerSigner(keys, 'point', () => Date.now() - 5 * 60_000).token();
    expect(verifier.check(old)).to.deep.equal({
      ok: false,
      why: 'the caller identity has expired',
    });
    expect(verifier.fromMetadata(new Metadata())).to.deep.equal({
      ok: false,
      why: 'the call carries no caller identity',
    });
    expect(verifier.check('no-dot').ok).to.equal(false);
  });

  it('remembers a verified token only until it expires', () => {
    let now = Date.now();
    const clocked = new CallerVerifier(keys, () => now);
    const md = new Metadata();
    md.set(CALLER_METADATA, new CallerSigner(keys, 'reservation').token());
    expect(clocked.fromMetadata(md).ok).to.equal(true);
    now += CALLER_TOKEN_TTL_MS + 60_000;
    expect(clocked.fromMetadata(md)).to.deep.equal({
      ok: false,
      why: 'the caller identity has expired',
    });
  });
});
