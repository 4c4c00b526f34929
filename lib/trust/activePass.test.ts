import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { endedTokenId, readPass, signPass, tokenHash } from './activePass';

describe('active pass', () => {
  const queue = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');

  it('reads back what the key signed, naming the token only by its hash', () => {
    const pass = signPass(
      queue.privateKey,
      'id.tag',
      'alice',
      1_700_000_600_000,
      1_700_000_000_000,
    );
    expect(pass).not.to.include('id.tag');
    expect(readPass(pass, queue.publicKey)).to.deep.equal({
      tokenId: 'id',
      tokenHash: tokenHash('id.tag'),
      userId: 'alice',
      expiresAt: 1_700_000_600_000,
      issuedAt: 1_700_000_000_000,
    });
  });

  it('refuses a pass another key signed, or one altered', () => {
    const pass = signPass(queue.privateKey, 'id.tag', 'alice', 1);
    expect(readPass(signPass(other.privateKey, 'id.tag', 'alice', 1), queue.publicKey)).to.equal(
      undefined,
    );
    const [body, sig] = pass.split('.');
    const forged = Buffer.from(
      JSON.stringify({ tid: 'id', th: tokenHash('id.tag'), sub: 'mallory', exp: 1, iat: 1 }),
    );
    expect(readPass(`${forged.toString('base64url')}.${sig}`, queue.publicKey)).to.equal(undefined);
    for (const bad of ['', '.', body, `${body}.`, `x.${sig}`])
      expect(readPass(bad, queue.publicKey)).to.equal(undefined);
  });

  it('reads the id of an ended-token announcement, and nothing from anything else', () => {
    expect(endedTokenId('{"id":"abc","user":"u","by":"payment","reservationId":"r"}')).to.equal(
      'abc',
    );
    for (const bad of ['', 'nope', '[]', 'null', '{"id":""}', '{"id":7}'])
      expect(endedTokenId(bad)).to.equal(undefined);
  });
});
