// Makes a fresh set of the mesh's keys for MESH_KEYS_DIR (docs/trust.md): every identity's
// Ed25519 key pair (<name>.key, <name>.pub) and the transaction key (tx.key).
//   node dist/cmd/keys.js --out <dir>
// Refuses to overwrite a key that exists: a new key is a new identity.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newKeyFiles } from '../lib/trust/keys';

const USAGE = 'usage: node dist/cmd/keys.js --out <dir>\n';

function main(argv: string[]): number {
  const at = argv.indexOf('--out');
  const dir = at >= 0 ? argv[at + 1] : undefined;
  if (!dir || argv.length !== 2) {
    process.stderr.write(USAGE);
    return 2;
  }
  const files = newKeyFiles();
  const taken = [...files.keys()].filter((name) => existsSync(join(dir, name)));
  if (taken.length > 0) {
    process.stderr.write(`keys: ${dir} already holds ${taken.join(', ')}; nothing written\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, text] of files) {
    // Private keys readable by their owner only; public keys by anyone.
    writeFileSync(join(dir, name), text, { mode: name.endsWith('.pub') ? 0o644 : 0o600 });
  }
  process.stdout.write(`keys: wrote ${files.size} files to ${dir}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
