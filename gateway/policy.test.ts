import { expect } from 'chai';
import { verifyIdentity } from '../lib/grpc/identity';
import { ApiError } from './errors';
import { callMetadata, idempotencyKey, queueToken } from './policy';
import type { Policy } from './routes';

const policy = (queue: Policy['queueToken']): Policy => ({
  audience: 'USER',
  queueToken: queue,
  successStatus: 200,
  maxStalenessMs: 0,
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

  it('forwards the signed caller and the headers as metadata', () => {
    const md = callMetadata(
      {
        caller: { userId: 'u1', role: 'admin' },
        queueToken: 'qt',
        idempotencyKey: 'k1',
        requestId: 'r1',
      },
      'mesh-secret',
    );
    const [identity] = md.get('x-boxoffice-identity');
    expect(verifyIdentity(String(identity), 'mesh-secret')).to.deep.equal({
      userId: 'u1',
      role: 'admin',
    });
    expect(verifyIdentity(String(identity), 'other-secret')).to.equal(undefined);
    expect(md.get('x-queue-token')).to.deep.equal(['qt']);
    expect(md.get('idempotency-key')).to.deep.equal(['k1']);
    expect(md.get('x-request-id')).to.deep.equal(['r1']);
    const anon = callMetadata(
      { caller: undefined, queueToken: undefined, idempotencyKey: undefined, requestId: 'r2' },
      's',
    );
    expect(Object.keys(anon.getMap())).to.deep.equal(['x-request-id']);
  });
});
