import { expect } from 'chai';
import { DomainError } from '../../../lib/errors';
import { assertUserId, mintToken, refusal, tokenFor, tokenIdOf } from './token';

const SECRET = 'test-queue-secret';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError ? err.reason : 'not a DomainError';
  }
  return undefined;
}

describe('queue tokens', () => {
  it('mints unguessable tokens that carry their id and a tag', () => {
    const a = mintToken(SECRET);
    const b = mintToken(SECRET);
    expect(a.token).to.match(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    expect(a.token.startsWith(`${a.id}.`)).to.equal(true);
    expect(a.id).to.not.equal(b.id);
    expect(tokenFor(a.id, SECRET)).to.equal(a.token);
  });

  it('reads the id back from a token it made', () => {
    const { id, token } = mintToken(SECRET, Buffer.alloc(16, 7));
    expect(tokenIdOf(token, SECRET)).to.equal(id);
  });

  it('asks for a token when there is none', () => {
    expect(reasonOf(() => tokenIdOf(undefined, SECRET))).to.equal('QUEUE_TOKEN_REQUIRED');
    expect(reasonOf(() => tokenIdOf('', SECRET))).to.equal('QUEUE_TOKEN_REQUIRED');
  });

  it('refuses malformed tokens as QUEUE_TOKEN_INVALID', () => {
    const { token } = mintToken(SECRET);
    for (const bad of [
      'x',
      'abc.def',
      `${token}.`,
      ` ${token}`,
      token.replace('.', ':'),
      `${token}a`,
    ]) {
      expect(
        reasonOf(() => tokenIdOf(bad, SECRET)),
        bad,
      ).to.equal('QUEUE_TOKEN_INVALID');
    }
  });

  it('refuses forged tokens (a tag from another secret, or a changed id) as QUEUE_TOKEN_INVALID', () => {
    const { id, token } = mintToken(SECRET);
    expect(reasonOf(() => tokenIdOf(tokenFor(id, 'another-secret'), SECRET))).to.equal(
      'QUEUE_TOKEN_INVALID',
    );
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    expect(reasonOf(() => tokenIdOf(flipped, SECRET))).to.equal('QUEUE_TOKEN_INVALID');
  });

  it('maps store verdicts to the API reasons', () => {
    expect(refusal('INVALID').reason).to.equal('QUEUE_TOKEN_INVALID');
    expect(refusal('MISMATCH').reason).to.equal('QUEUE_TOKEN_USER_MISMATCH');
    expect(refusal('EXPIRED').reason).to.equal('QUEUE_TOKEN_EXPIRED');
    expect(refusal('NOT_ACTIVE').reason).to.equal('QUEUE_TOKEN_NOT_ACTIVE');
  });

  it('accepts only API-shaped user ids', () => {
    expect(reasonOf(() => assertUserId('user_1-A'))).to.equal(undefined);
    for (const bad of ['', 'a b', 'x'.repeat(65), 'a:b']) {
      expect(
        reasonOf(() => assertUserId(bad)),
        bad,
      ).to.equal('INVALID_ARGUMENT');
    }
  });
});
