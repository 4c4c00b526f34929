// The layer check's own tests (run by npm run test:unit): synthetic trees in temp dirs (git
// repositories, as the stands-alone rule reads the tracked files), with one file per rule that
// must be flagged and files that must not.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { checkStandsAlone, checkTree, findImports } from './check-layers.mjs';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'check-layers.mjs');

function write(dir, path, text) {
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
    expect(run.status, run.stderr).to.equal(0);
  }
}

// Allowed: nothing here may be flagged.
const ALLOWED = [
  [
    'lib/config.ts',
    "import { x } from './errors';\nimport type { Y } from '../gen/boxoffice/y';\n",
  ],
  ['lib/errors.ts', "export * from './grpc/status';\n// import '../services/point/main';\n"],
  [
    'services/point/main.ts',
    [
      "import { openDatabase } from '../../lib/db';",
      "import { Wallets } from './wallets';",
      "import { pointService } from './grpc';",
      "import { PointClient } from '../../gen/boxoffice/point/v1/point';",
      "import * as grpc from '@grpc/grpc-js';",
      '',
    ].join('\n'),
  ],
  [
    'services/point/domain/points.ts',
    "import { DomainError } from '../../../lib/errors';\nimport { P } from '../../../gen/boxoffice/point/v1/point';\nconst s = 'import x from \"typeorm\"';\n",
  ],
  ['gateway/main.ts', "import { loadConfig } from '../lib/config';\n"],
  ['coordinator/main.ts', "import { loadConfig } from '../lib/config';\n"],
  [
    'cmd/mesh.ts',
    "import { startPoint } from '../services/point/main';\nimport { startGateway } from '../gateway/main';\n",
  ],
  ['node_modules/x/lib/bad.ts', "import '../../../services/point/main';\n"], // not scanned
];

// Violations, one per rule; the line each is expected on.
const EXPECTED = [
  ['lib/bad-service.ts', 1, "import { startPoint } from '../services/point/main';\n"],
  ['lib/bad-cmd.ts', 2, "// fine\nexport { main } from '../cmd/mesh';\n"],
  ['lib/grpc/bad-gateway.ts', 1, "const g = require('../../gateway/main');\n"],
  ['services/concert/bad.ts', 3, "import {\n  Wallets,\n} from '../point/wallets';\n"],
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

describe('layer check', () => {
  let root;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'check-layers-'));
    for (const [path, text] of [...ALLOWED, ...EXPECTED.map(([path, , text]) => [path, text])]) {
      write(root, path, text);
    }
    track(root);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('flags every forbidden import at its file and line, and nothing else', () => {
    const { violations } = checkTree(root);
    const got = violations.map((v) => `${v.file}:${v.line}`).sort();
    const want = EXPECTED.map(([path, line]) => `${path}:${line}`).sort();
    expect(got).to.deep.equal(want);
  });

  it('exits non-zero and lists file:line when it finds a violation', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
    expect(run.status).to.equal(1);
    expect(run.stderr).to.match(/^lib\/bad-service\.ts:1: lib\/ must not import from services\//m);
    expect(run.stderr).to.match(/17 violation\(s\)/);
  });

  it('exits zero on a clean tree', () => {
    const clean = mkdtempSync(join(tmpdir(), 'check-layers-clean-'));
    try {
      write(clean, 'lib/a.ts', "import { b } from './b';\n");
      track(clean);
      const run = spawnSync(process.execPath, [SCRIPT, '--root', clean], { encoding: 'utf8' });
      expect(run.status, run.stderr).to.equal(0);
    } finally {
      rmSync(clean, { recursive: true, force: true });
    }
  });
});

describe('the repository stands alone', () => {
  // Names are built by concatenation, so that this file does not name the documents itself.
  const API = 'API' + '.md';
  const DESIGN = 'DESIGN' + '.md';
  const FACTS = 'FACTS' + '.md';
  const SHARED = '..' + '/shared';
  let alone;

  before(() => {
    alone = mkdtempSync(join(tmpdir(), 'check-layers-alone-'));
    write(
      alone,
      'docs/guide.md',
      'The contract: docs/api.md, [api.md](api.md), OPEN' + API + '.\n',
    );
    write(alone, 'docs/bad.md', `# Notes\nas ${API} says\n`);
    write(alone, 'lib/bad.ts', `// the platform (${FACTS})\nexport {};\n`);
    write(alone, 'deploy/bad.yaml', `a: 1\n# see ${SHARED}/notes and ${DESIGN}\n`);
    write(alone, '.ci/run', `# ${DESIGN}: the CI machinery is not checked\n`);
    track(alone);
    write(alone, 'untracked.md', `${API}\n`); // not in the index: not checked
  });
  after(() => rmSync(alone, { recursive: true, force: true }));

  it('flags every tracked file that names a document outside the repository, and no other', () => {
    const { violations } = checkStandsAlone(alone);
    expect(violations.map((v) => `${v.file}:${v.line}: ${v.names.join(' ')}`).sort()).to.deep.equal(
      [`deploy/bad.yaml:2: ${SHARED} ${DESIGN}`, `docs/bad.md:2: ${API}`, `lib/bad.ts:1: ${FACTS}`],
    );
  });

  it('exits non-zero and lists file:line of a file that names one', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--root', alone], { encoding: 'utf8' });
    expect(run.status).to.equal(1);
    expect(run.stderr.split('\n')).to.include(
      `docs/bad.md:2: names '${API}', outside the repository (link docs/ instead)`,
    );
    expect(run.stderr).to.match(/3 violation\(s\)/);
  });
});

describe('import finder', () => {
  it('finds every import form and ignores comments', () => {
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
    expect(findImports(src).map((i) => `${i.line}:${i.spec}`)).to.deep.equal([
      '1:a',
      '2:b',
      '3:c',
      '4:d',
      '5:f',
      '6:g',
      '7:i',
      '8:j',
      '9:k',
      '10:l',
    ]);
  });
});
