import { expect } from 'chai';
import { CALLER_METADATA, CallerSigner, CallerVerifier } from '../lib/trust/caller';
import { keysFromSecret } from '../lib/trust/keys';
import { ApiError } from './errors';
import { callMetadata, idempotencyKey, queueToken } from './policy';
import type { Policy } from './routes';

const policy = (queue: Policy['queueToken']): Policy => ({
  audience: 'USER',
  queueToken: queue,
  successStatus: 200,
  maxStalenessMs: 0,
  repeatAfterPayment: undefined,
});

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('gateway policy headers', () => {
  it('ignores X-Queue-Token where the route does not need it', () => {
    expect(queueToken(policy('NONE'), { 'x-queue-token': 'abc' })).to.equal(undefined);
  });

  it('needs X-Queue-Token on PRESENT and ACTIVE routes', () => {
    expect(queueToken(policy('PRESENT'), { 'x-queue-token': ' abc ' })).to.equal('abc');
    for (const p of ['PRESENT', 'ACTIVE'] as const) {
      for (const headers of [{}, { 'x-queue-token': '' }, { 'x-queue-token': '   ' }]) {
        const e = refusal(() => queueToken(policy(p), headers));
        expect([e.httpStatus, e.reason]).to.deep.equal([401, 'QUEUE_TOKEN_REQUIRED']);
        expect(e.headers['WWW-Authenticate']).to.match(/^Bearer/);
      }
    }
    const e = refusal(() => queueToken(policy('ACTIVE'), { 'x-queue-token': 'tök' }));
    expect([e.httpStatus, e.reason]).to.deep.equal([401, 'QUEUE_TOKEN_INVALID']);
  });

  it('checks Idempotency-Key: 1-128 printable characters', () => {
    expect(idempotencyKey({})).to.equal(undefined);
    expect(idempotencyKey({ 'idempotency-key': 'k'.repeat(128) })).to.equal('k'.repeat(128));
    for (const bad of ['', 'k'.repeat(129), 'ключ', 'a\tb']) {
      const e = refusal(() => idempotencyKey({ 'idempotency-key': bad }));
      expect([e.httpStatus, e.reason, e.metadata]).to.deep.equal([
        400,
        'INVALID_ARGUMENT',
        { field: 'Idempotency-Key' },
      ]);
    }
  });

  it('forwards the gateway’s signed identity naming the user, and the headers, as metadata', () => {
    const keys = keysFromSecret('mesh-secret');
    const gateway = new CallerSigner(keys, 'gateway');
    const md = callMetadata(
      {
        caller: { userId: 'u1', role: 'admin' },
        queueToken: 'qt',
        idempotencyKey: 'k1',
        requestId: 'r1',
      },
      gateway,
    );
    const [token] = md.get(CALLER_METADATA);
    expect(new CallerVerifier(keys).check(String(token))).to.deep.equal({
      ok: true,
      caller: { service: 'gateway', user: { userId: 'u1', role: 'admin' } },
    });
    // Keys of another mesh do not vouch for it.
    expect(new CallerVerifier(keysFromSecret('other-secret')).check(String(token)).ok).to.equal(
      false,
    );
    expect(md.get('x-queue-token')).to.deep.equal(['qt']);
    expect(md.get('idempotency-key')).to.deep.equal(['k1']);
    expect(md.get('x-request-id')).to.deep.equal(['r1']);
    // A public route's call names no user, but still proves it is the gateway's.
    const anon = callMetadata(
      { caller: undefined, queueToken: undefined, idempotencyKey: undefined, requestId: 'r2' },
      gateway,
    );
    expect(Object.keys(anon.getMap()).sort()).to.deep.equal([CALLER_METADATA, 'x-request-id']);
    const [anonToken] = anon.get(CALLER_METADATA);
    expect(new CallerVerifier(keys).check(String(anonToken))).to.deep.equal({
      ok: true,
      caller: { service: 'gateway' },
    });
  });
});
