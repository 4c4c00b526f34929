import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { refusedField } from '../test/support/refusals';
import { fingerprint, idempotencyKeyOf } from './idempotency';

const md = (key?: string) => {
  const m = new Metadata();
  if (key !== undefined) m.set('idempotency-key', key);
  return m;
};

describe('Idempotency-Key', () => {
  it('reads the key a call carries, and none when it carries none', () => {
    expect(idempotencyKeyOf(md())).to.equal(undefined);
    expect(idempotencyKeyOf(md('pay-1'))).to.equal('pay-1');
    expect(idempotencyKeyOf(md('x'.repeat(128)))).to.equal('x'.repeat(128));
  });

  it('refuses an empty or overlong key naming the header', () => {
    for (const bad of ['', 'x'.repeat(129)])
      expect(
        refusedField(() => idempotencyKeyOf(md(bad))),
        JSON.stringify(bad),
      ).to.equal('Idempotency-Key');
  });

  it('fingerprints requests: equal for equal requests, different otherwise', () => {
    expect(fingerprint({ a: 1 })).to.equal(fingerprint({ a: 1 }));
    expect(fingerprint({ a: 1 })).to.not.equal(fingerprint({ a: 2 }));
    expect(fingerprint({ a: 1 })).to.match(/^[0-9a-f]{64}$/);
  });
});
