import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CallerSigner, CallerVerifier } from './caller';
import { IDENTITIES, KeyError, keysFromDir, newKeyFiles } from './keys';

describe('mesh keys from a directory', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mesh-keys-'));
    for (const [name, text] of newKeyFiles()) writeFileSync(join(dir, name), text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the private keys it acts as, every public key, and the tx key for participants', () => {
    const point = keysFromDir(dir, ['point']);
    expect(point.privateKey('point')).to.not.equal(undefined);
    expect(point.privateKey('coordinator')).to.equal(undefined);
    for (const name of IDENTITIES) expect(point.publicKey(name), name).to.not.equal(undefined);
    expect(point.txKey?.length).to.equal(32);
    // The gateway takes part in no transaction: it gets no tx key.
    expect(keysFromDir(dir, ['gateway']).txKey).to.equal(undefined);
  });

  it('lets one process verify what another signed with its own key', () => {
    const token = new CallerSigner(keysFromDir(dir, ['coordinator']), 'coordinator').token();
    const check = new CallerVerifier(keysFromDir(dir, ['point'])).check(token);
    expect(check).to.deep.equal({ ok: true, caller: { service: 'coordinator' } });
  });

  it('names the file that is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'mesh-keys-'));
    try {
      expect(() => keysFromDir(empty, ['queue'])).to.throw(KeyError, /queue\.key is missing/);
      writeFileSync(join(empty, 'point.key'), newKeyFiles().get('point.key')!);
      writeFileSync(join(empty, 'point.pub'), newKeyFiles().get('point.pub')!);
      expect(() => keysFromDir(empty, ['point'])).to.throw(KeyError, /tx\.key is missing/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
