#!/usr/bin/env node
// Layer check: fails when an import crosses a boundary of the architecture (lib never imports a
// service, services never import each other, domain code does no I/O; docs/architecture.md), or
// when a tracked file leans on a document outside the repository, which must stand alone.
// Plain Node and git, no deps.
//
//   node scripts/check-layers.mjs [--root DIR]   check the tree (default: the repo)
// Its own tests, check-layers.test.mjs, run with the unit tests (npm run test:unit).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCANNED = ['lib', 'services', 'coordinator', 'gateway', 'cmd', 'mock'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'gen', '.git']);
/**
 * The background documents the project started from, which live outside the repository: the
 * repository carries what they said (docs/api.md, docs/architecture.md, docs/platform.md), so a
 * file names them, or a path into their folder, only by mistake. Case matters: docs/api.md is ours.
 */
const OUTSIDE_DOCUMENT = /\b(?:API|DESIGN|FACTS)\.md\b|\.\.\/shared\b/g;
/** The CI machinery is not part of the project: its files are not checked. */
const UNCHECKED_DIRS = ['.ci/'];

/** Packages that do I/O; forbidden in services/<svc>/domain/. */
const IO_PACKAGES = [
  /^@grpc\//,
  /^typeorm(\/|$)/,
  /^ioredis(\/|$)/,
  /^mysql2(\/|$)/,
  /^amqplib(\/|$)/,
];

/**
 * Blanks out comments (keeping newlines, so offsets and line numbers stay right) and marks which
 * characters sit inside string literals, so that `import` inside a string is not an import.
 */
export function scanSource(src) {
  let out = '';
  const quoted = new Uint8Array(src.length);
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') {
        out += ' ';
        i++;
      }
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      for (; i < stop; i++) out += src[i] === '\n' ? '\n' : ' ';
    } else if (c === "'" || c === '"' || c === '`') {
      // A string literal is copied verbatim (specifiers live in them); a quote left open ends
      // at the line end, so a stray quote (say, in a regex literal) cannot swallow the file.
      let j = i + 1;
      while (j < src.length && src[j] !== c && (c === '`' || src[j] !== '\n')) {
        j += src[j] === '\\' ? 2 : 1;
      }
      const end = Math.min(j + 1, src.length);
      quoted.fill(1, i + 1, end);
      out += src.slice(i, end);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return { code: out, quoted };
}

const IDENT = String.raw`[\w$]+`;
const CLAUSE = String.raw`(?:${IDENT}(?:\s*,\s*(?:\{[^}]*\}|\*\s*as\s+${IDENT}))?|\{[^}]*\}|\*\s*as\s+${IDENT})`;
const SPEC = String.raw`(['"])([^'"\n]+)\1`;
const PATTERNS = [
  // import x from 's'; import type { A } from 's'; import * as ns from 's'; import x, { y } from 's'
  new RegExp(String.raw`(?<![\w$.])import\s+(?:type\s+)?${CLAUSE}\s*from\s*${SPEC}`, 'g'),
  // export * from 's'; export { a } from 's'; export type { A } from 's'; export * as ns from 's'
  new RegExp(
    String.raw`(?<![\w$.])export\s+(?:type\s+)?(?:\{[^}]*\}|\*(?:\s*as\s+${IDENT})?)\s*from\s*${SPEC}`,
    'g',
  ),
  // import 's' (side effects only)
  new RegExp(String.raw`(?<![\w$.])import\s*${SPEC}`, 'g'),
  // import('s'), require('s'), import x = require('s')
  new RegExp(String.raw`(?<![\w$.])(?:import|require)\s*\(\s*${SPEC}\s*\)`, 'g'),
];

/** Every module specifier in a TypeScript source, with its 1-based line. */
export function findImports(source) {
  const { code, quoted } = scanSource(source);
  const found = new Map();
  for (const re of PATTERNS) {
    for (const m of code.matchAll(re)) {
      if (quoted[m.index]) continue;
      const spec = m[m.length - 1];
      const at = m.index + m[0].lastIndexOf(spec);
      if (!found.has(at)) found.set(at, spec);
    }
  }
  return [...found.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at, spec]) => ({ spec, line: code.slice(0, at).split('\n').length }));
}

function isTest(path) {
  return /\.test\.ts$/.test(path);
}

/** Where a repo-relative posix path sits: { top, svc, domain }. */
function layerOf(path) {
  const parts = path.split('/');
  const top = parts[0];
  if (top === 'services') {
    return { top, svc: parts[1] ?? '', domain: parts[2] === 'domain' && parts.length > 3 };
  }
  return { top, svc: '', domain: false };
}

/** The rule an import breaks, or null. `from` is the importing file, both repo-relative posix. */
export function violation(from, spec) {
  const src = layerOf(from);
  const relativeSpec =
    spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..';
  const target = relativeSpec ? posix.normalize(posix.join(posix.dirname(from), spec)) : null;
  if (target !== null && (target === 'gen' || target.startsWith('gen/'))) return null; // gen/ is for everyone
  const dst = target !== null ? layerOf(target) : null;

  if (dst) {
    if (
      src.top === 'lib' &&
      ['services', 'coordinator', 'gateway', 'cmd', 'mock'].includes(dst.top)
    ) {
      return `lib/ must not import from ${dst.top}/`;
    }
    // The bundled mock stands in for an outside system: it knows the runtime, nothing else.
    if (
      src.top === 'mock' &&
      !['lib', 'mock', ...(isTest(from) ? ['test'] : [])].includes(dst.top)
    ) {
      return `mock/ may import only from lib/ (not ${dst.top}/)`;
    }
    if (
      ['services', 'coordinator', 'gateway'].includes(src.top) &&
      dst.top === 'mock' &&
      !isTest(from)
    ) {
      return `${src.top}/ must not import the mock`;
    }
    if (src.top === 'services') {
      if (dst.top === 'services' && dst.svc !== src.svc) {
        return `services/${src.svc}/ must not import from another service (services/${dst.svc}/)`;
      }
      if (dst.top === 'coordinator' || dst.top === 'gateway') {
        return `services/ must not import from ${dst.top}/`;
      }
    }
    if (src.top === 'gateway' && (dst.top === 'services' || dst.top === 'coordinator')) {
      return `gateway/ must not import from ${dst.top}/`;
    }
    if (src.top === 'coordinator' && dst.top === 'services') {
      return 'coordinator/ must not import from services/';
    }
  }

  if (src.domain) {
    if (target === null) {
      if (IO_PACKAGES.some((re) => re.test(spec)))
        return `domain code must not import ${spec} (I/O)`;
      if (/^grpc(?:[-_.]|$)/.test(spec))
        return `domain code must not import a grpc module (${spec})`;
    } else {
      const segments = target.split('/');
      if (segments.slice(0, -1).includes('data') || segments.at(-1) === 'data') {
        return 'domain code must not import from a data/ folder';
      }
      if (segments.some((s) => /^grpc(?:[-_.]|$)/.test(s))) {
        return 'domain code must not import a grpc module';
      }
    }
  }
  return null;
}

function* tsFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) yield* tsFiles(full);
    } else if (e.isFile() && e.name.endsWith('.ts')) {
      yield full;
    }
  }
}

/** Checks every .ts file of the scanned folders under root. */
export function checkTree(root) {
  const violations = [];
  let files = 0;
  let imports = 0;
  for (const top of SCANNED) {
    for (const file of tsFiles(join(root, top))) {
      files++;
      const rel = relative(root, file).split(sep).join('/');
      for (const { spec, line } of findImports(readFileSync(file, 'utf8'))) {
        imports++;
        const rule = violation(rel, spec);
        if (rule) violations.push({ file: rel, line, spec, rule });
      }
    }
  }
  return { files, imports, violations };
}

/** Every tracked file (git ls-files) of root that names a document outside the repository. */
export function checkStandsAlone(root) {
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) {
    throw new Error(`cannot list the tracked files of ${root}: ${(listed.stderr ?? '').trim()}`);
  }
  const files = listed.stdout
    .split('\0')
    .filter((f) => f !== '' && !UNCHECKED_DIRS.some((dir) => f.startsWith(dir)));
  const violations = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch (err) {
      // Deleted in the work tree but still in the index: nothing to read.
      if (err.code === 'ENOENT') continue;
      throw err;
    }
    text.split('\n').forEach((line, i) => {
      const names = [...line.matchAll(OUTSIDE_DOCUMENT)].map((m) => m[0]);
      if (names.length > 0) violations.push({ file, line: i + 1, names });
    });
  }
  return { files: files.length, violations };
}

async function main(argv) {
  const rootAt = argv.indexOf('--root');
  const root =
    rootAt >= 0
      ? resolve(argv[rootAt + 1] ?? '.')
      : resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const { files, imports, violations } = checkTree(root);
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.rule} (imports '${v.spec}')`);
  const alone = checkStandsAlone(root);
  for (const v of alone.violations) {
    const names = v.names.map((n) => `'${n}'`).join(', ');
    console.error(
      `${v.file}:${v.line}: names ${names}, outside the repository (link docs/ instead)`,
    );
  }
  const count = violations.length + alone.violations.length;
  if (count > 0) {
    console.error(`check-layers: ${count} violation(s)`);
    process.exitCode = 1;
  } else {
    console.log(`check-layers: ${files} files, ${imports} imports, no violations`);
    console.log(`check-layers: ${alone.files} tracked files, none names a document outside`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
