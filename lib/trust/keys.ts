// The mesh's keys (docs/trust.md). Every identity — each service, and the operators' tools — has
// an Ed25519 key pair: a process holds the private keys of the identities it acts as and the
// public key of every identity. The coordinator and its participants also share the key that
// signs transaction contexts. Read from MESH_KEYS_DIR (<name>.key, <name>.pub, tx.key); in
// development, without a directory, derived from MESH_SECRET (refused in production).
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const IDENTITIES = [
  'gateway',
  'queue',
  'concert',
  'reservation',
  'payment',
  'point',
  'coordinator',
  'ops',
  'dataplatform',
  'operator',
] as const;
export type IdentityName = (typeof IDENTITIES)[number];

/** The identities that take part in global transactions and so hold the transaction key. */
export const TX_KEY_HOLDERS: readonly IdentityName[] = [
  'coordinator',
  'concert',
  'reservation',
  'payment',
  'point',
];

export const TX_KEY_FILE = 'tx.key';

export interface MeshKeys {
  /** The private key of an identity this process acts as; undefined for any other. */
  privateKey(identity: IdentityName): KeyObject | undefined;
  /** The public key of any identity known here. */
  publicKey(identity: IdentityName): KeyObject | undefined;
  /** The transaction-context key, held by the coordinator and its participants only. */
  readonly txKey: Buffer | undefined;
}

export class KeyError extends Error {}

/** Ed25519 PKCS#8 DER prefix: the 32-byte seed follows it. */
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Keys read from a directory: private keys of `actAs`, every public key present, tx.key. */
export function keysFromDir(dir: string, actAs: readonly IdentityName[]): MeshKeys {
  const read = (file: string) => readFileSync(join(dir, file));
  const privates = new Map<IdentityName, KeyObject>();
  for (const name of actAs) {
    const file = join(dir, `${name}.key`);
    if (!existsSync(file)) throw new KeyError(`MESH_KEYS_DIR: ${file} is missing`);
    privates.set(name, createPrivateKey(read(`${name}.key`)));
  }
  const publics = new Map<IdentityName, KeyObject>();
  for (const name of IDENTITIES) {
    if (existsSync(join(dir, `${name}.pub`)))
      publics.set(name, createPublicKey(read(`${name}.pub`)));
  }
  for (const name of actAs) {
    if (!publics.has(name)) throw new KeyError(`MESH_KEYS_DIR: ${name}.pub is missing`);
  }
  const needsTxKey = actAs.some((n) => TX_KEY_HOLDERS.includes(n));
  let txKey: Buffer | undefined;
  if (existsSync(join(dir, TX_KEY_FILE))) {
    txKey = Buffer.from(read(TX_KEY_FILE).toString('utf8').trim(), 'base64');
    if (txKey.length < 32) throw new KeyError(`MESH_KEYS_DIR: ${TX_KEY_FILE} holds under 32 bytes`);
  } else if (needsTxKey) {
    throw new KeyError(`MESH_KEYS_DIR: ${TX_KEY_FILE} is missing (${actAs.join(', ')} need it)`);
  }
  return {
    privateKey: (name) => privates.get(name),
    publicKey: (name) => publics.get(name),
    txKey: needsTxKey ? txKey : undefined,
  };
}

/**
 * Development keys, all derived from one secret: every process can act as every identity, so
 * they prove nothing against someone who knows the secret. Refused in production (lib/config).
 */
export function keysFromSecret(secret: string): MeshKeys {
  const derive = (label: string) =>
    createHmac('sha256', secret).update(`boxoffice.mesh.${label}.v1`).digest();
  const privates = new Map<IdentityName, KeyObject>();
  for (const name of IDENTITIES) {
    const seed = derive(`key.${name}`);
    privates.set(
      name,
      createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' }),
    );
  }
  const publics = new Map([...privates].map(([n, k]) => [n, createPublicKey(k)]));
  return {
    privateKey: (name) => privates.get(name),
    publicKey: (name) => publics.get(name),
    txKey: derive('tx'),
  };
}

/** A fresh key set, as files (name → PEM or base64 text) for MESH_KEYS_DIR. */
export function newKeyFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of IDENTITIES) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    files.set(`${name}.key`, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    files.set(`${name}.pub`, publicKey.export({ format: 'pem', type: 'spki' }).toString());
  }
  files.set(TX_KEY_FILE, `${randomBytes(32).toString('base64')}\n`);
  return files;
}
