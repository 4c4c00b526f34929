// Self-test of the layer check: synthetic trees in temp dirs (git repositories, as the check
// reads the tracked files), with one file per rule that must be flagged and files that must not.
// Run: node scripts/check-layers.mjs --self-test
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkStandsAlone, checkTree, findImports } from './check-layers.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'check-layers.mjs');
const root = mkdtempSync(join(tmpdir(), 'check-layers-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(path, text, dir = root) {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** Makes dir a git repository whose index holds every file written so far. */
function track(dir) {
  for (const args of [
    ['init', '-q'],
    ['add', '-A'],
  ]) {
    const run = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  }
}

// Allowed: nothing here may be flagged.
write(
  'lib/config.ts',
  "import { x } from './errors';\nimport type { Y } from '../gen/boxoffice/y';\n",
);
write('lib/errors.ts', "export * from './grpc/status';\n// import '../services/point/main';\n");
write(
  'services/point/main.ts',
  [
    "import { openDatabase } from '../../lib/db';",
    "import { Wallets } from './data/wallets';",
    "import { pointService } from './grpc';",
    "import { PointClient } from '../../gen/boxoffice/point/v1/point';",
    "import * as grpc from '@grpc/grpc-js';",
    '',
  ].join('\n'),
);
write(
  'services/point/domain/points.ts',
  "import { DomainError } from '../../../lib/errors';\nimport { P } from '../../../gen/boxoffice/point/v1/point';\nconst s = 'import x from \"typeorm\"';\n",
);
write('gateway/main.ts', "import { loadConfig } from '../lib/config';\n");
write('coordinator/main.ts', "import { loadConfig } from '../lib/config';\n");
write(
  'cmd/mesh.ts',
  "import { startPoint } from '../services/point/main';\nimport { startGateway } from '../gateway/main';\n",
);
write('node_modules/x/lib/bad.ts', "import '../../../services/point/main';\n"); // not scanned

// Violations, one per rule; the line each is expected on.
const EXPECTED = [
  ['lib/bad-service.ts', 1, "import { startPoint } from '../services/point/main';\n"],
  ['lib/bad-cmd.ts', 2, "// fine\nexport { main } from '../cmd/mesh';\n"],
  ['lib/grpc/bad-gateway.ts', 1, "const g = require('../../gateway/main');\n"],
  ['services/concert/bad.ts', 3, "import {\n  Wallets,\n} from '../point/data/wallets';\n"],
  [
    'services/concert/bad-coordinator.ts',
    1,
    "import type { Tx } from '../../coordinator/engine/log';\n",
  ],
  ['services/concert/bad-gateway.ts', 1, "import '../../gateway/main';\n"],
  ['gateway/bad-service.ts', 1, "const m = await import('../services/queue/main');\n"],
  ['gateway/bad-coordinator.ts', 1, "import * as c from '../coordinator/main';\n"],
  ['coordinator/bad.ts', 1, "import { Seats } from '../services/concert/data/seats';\n"],
  ['services/point/domain/bad-grpc.ts', 1, "import { status } from '@grpc/grpc-js';\n"],
  ['services/point/domain/bad-typeorm.ts', 1, "import { Entity } from 'typeorm';\n"],
  ['services/point/domain/bad-ioredis.ts', 1, "import Redis from 'ioredis';\n"],
  ['services/point/domain/bad-mysql.ts', 1, "import mysql from 'mysql2/promise';\n"],
  ['services/point/domain/bad-amqp.ts', 1, "import amqp from 'amqplib';\n"],
  ['services/point/domain/bad-data.ts', 1, "import { Wallets } from '../data/wallets';\n"],
  ['services/point/domain/rules/bad-grpc-module.ts', 1, "import { handlers } from '../../grpc';\n"],
  [
    'services/point/domain/bad-lib-grpc.ts',
    1,
    "import { GrpcServer } from '../../../lib/grpc/server';\n",
  ],
];
for (const [path, , text] of EXPECTED) write(path, text);
track(root);

// A repository that must stand alone. Names are built by concatenation, so that this file does
// not name the documents itself.
const API = 'API' + '.md';
const DESIGN = 'DESIGN' + '.md';
const FACTS = 'FACTS' + '.md';
const SHARED = '..' + '/shared';
const alone = mkdtempSync(join(tmpdir(), 'check-layers-alone-'));
after(() => rmSync(alone, { recursive: true, force: true }));
write('docs/guide.md', 'The contract: docs/api.md, [api.md](api.md), OPEN' + API + '.\n', alone);
write('docs/bad.md', `# Notes\nas ${API} says\n`, alone);
write('lib/bad.ts', `// the platform (${FACTS})\nexport {};\n`, alone);
write('deploy/bad.yaml', `a: 1\n# see ${SHARED}/notes and ${DESIGN}\n`, alone);
write('.ci/run', `# ${DESIGN}: the CI machinery is not checked\n`, alone);
track(alone);
write('untracked.md', `${API}\n`, alone); // not in the index: not checked

test('flags every forbidden import at its file and line, and nothing else', () => {
  const { violations } = checkTree(root);
  const got = violations.map((v) => `${v.file}:${v.line}`).sort();
  const want = EXPECTED.map(([path, line]) => `${path}:${line}`).sort();
  assert.deepEqual(got, want);
});

test('the command exits non-zero and lists file:line when it finds a violation', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^lib\/bad-service\.ts:1: lib\/ must not import from services\//m);
  assert.match(run.stderr, /17 violation\(s\)/);
});

test('flags every tracked file that names a document outside the repository, and no other', () => {
  const { violations } = checkStandsAlone(alone);
  assert.deepEqual(violations.map((v) => `${v.file}:${v.line}: ${v.names.join(' ')}`).sort(), [
    `deploy/bad.yaml:2: ${SHARED} ${DESIGN}`,
    `docs/bad.md:2: ${API}`,
    `lib/bad.ts:1: ${FACTS}`,
  ]);
});

test('the command exits non-zero and lists file:line of a file that names one', () => {
  const run = spawnSync(process.execPath, [SCRIPT, '--root', alone], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  const lines = run.stderr.split('\n');
  assert.ok(
    lines.includes(`docs/bad.md:2: names '${API}', outside the repository (link docs/ instead)`),
    run.stderr,
  );
  assert.match(run.stderr, /3 violation\(s\)/);
});

test('the command exits zero on a clean tree', () => {
  const clean = mkdtempSync(join(tmpdir(), 'check-layers-clean-'));
  try {
    mkdirSync(join(clean, 'lib'));
    writeFileSync(join(clean, 'lib', 'a.ts'), "import { b } from './b';\n");
    track(clean);
    const run = spawnSync(process.execPath, [SCRIPT, '--root', clean], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  } finally {
    rmSync(clean, { recursive: true, force: true });
  }
});

test('finds every import form and ignores comments', () => {
  const src = [
    "import a from 'a';",
    "import type { B } from 'b';",
    "import * as c from 'c';",
    "import d, { e } from 'd';",
    "export * from 'f';",
    "export { g as h } from 'g';",
    "import 'i';",
    "const j = require('j');",
    "import k = require('k');",
    "const l = await import('l');",
    "// import m from 'm';",
    "/* import n from 'n'; */",
    "x.require('o');",
    '',
  ].join('\n');
  assert.deepEqual(
    findImports(src).map((i) => `${i.line}:${i.spec}`),
    ['1:a', '2:b', '3:c', '4:d', '5:f', '6:g', '7:i', '8:j', '9:k', '10:l'],
  );
});
