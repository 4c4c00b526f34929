import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { TX_METADATA, readTxContext, writeTxContext, type TxContext } from './context';

describe('transaction contexts', () => {
  const key = randomBytes(32);
  const ctx: TxContext = {
    gid: 'g1',
    branchId: 'point',
    mode: 'xa',
    op: 'action',
    prepare: true,
    expiresAt: Date.now() + 3_600_000,
  };

  it('reads back what the coordinator signed', () => {
    expect(readTxContext(writeTxContext(ctx, key), key)).to.deep.equal({ ok: true, ctx });
    expect(readTxContext(new Metadata(), key)).to.equal(undefined);
  });

  it('refuses a context signed with another key, tampered with, or expired', () => {
    expect(readTxContext(writeTxContext(ctx, randomBytes(32)), key)).to.deep.equal({
      ok: false,
      why: 'the transaction context is not signed by the coordinator',
    });
    const md = writeTxContext(ctx, key);
    const [body, mac] = String(md.get(TX_METADATA)[0]).split('.');
    const wire = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    md.set(
      TX_METADATA,
      `${Buffer.from(JSON.stringify({ ...wire, g: 'g2' })).toString('base64url')}.${mac}`,
    );
    expect(readTxContext(md, key)?.ok).to.equal(false);
    const late = writeTxContext({ ...ctx, expiresAt: Date.now() - 5000 }, key);
    expect(readTxContext(late, key)?.ok).to.equal(false);
  });

  it('refuses any context in a service that holds no transaction key', () => {
    expect(readTxContext(writeTxContext(ctx, key), undefined)?.ok).to.equal(false);
  });
});
