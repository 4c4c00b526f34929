import { expect } from 'chai';
import { certificates, extraCaLines } from './image-test.mjs';

/** A PEM certificate block around a base64 body, wrapped at 64 as PEM files are. */
function pem(body) {
  const lines = body.match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}

describe('image-test: the CA certificates that must stay out of the image', () => {
  const shipped = 'A'.repeat(64) + 'B'.repeat(64) + 'C'.repeat(40);
  const own = 'D'.repeat(64) + 'E'.repeat(64) + 'F'.repeat(40);

  it('reads the body of every certificate of a bundle, whitespace removed', () => {
    expect(certificates(`# a comment\n${pem(shipped)}\n${pem(own)}`)).to.deep.equal([shipped, own]);
  });

  it('names only certificates Node does not ship, by their second PEM line', () => {
    expect(extraCaLines(pem(shipped) + pem(own), [pem(shipped)])).to.deep.equal(['E'.repeat(64)]);
    expect(extraCaLines(pem(shipped), [pem(shipped)])).to.deep.equal([]);
  });
});
