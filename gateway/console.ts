// The operator console at /console: the static files `make build` puts in dist/console (plain
// TypeScript modules, one page, a style sheet), served as they are. Only the files found there
// at start-up can be served, so no request path ever reaches the file system; the page itself
// carries JAEGER_UI_URL and a content security policy that lets it load nothing from elsewhere.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { REPO_ROOT } from '../lib/paths';

export const CONSOLE_PREFIX = '/console';
export const CONSOLE_DIR = join(REPO_ROOT, 'dist', 'console');

export interface ConsoleFile {
  body: Buffer;
  headers: Record<string, string>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** The page may talk to this origin only: the admin token in its storage goes nowhere else. */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export class ConsoleAssets {
  private readonly files = new Map<string, ConsoleFile>();

  /** Reads the built console; `built` is false when dist/console is missing (every path 404s). */
  constructor(
    jaegerUiUrl: string,
    readonly dir: string = CONSOLE_DIR,
  ) {
    for (const path of listFiles(dir)) {
      const type = CONTENT_TYPES[extname(path)];
      if (!type) continue;
      const name = relative(dir, path).split(sep).join('/');
      let body = readFileSync(path);
      if (name === 'index.html')
        body = Buffer.from(
          body.toString('utf8').replace('%JAEGER_UI_URL%', escapeHtml(jaegerUiUrl)),
        );
      // Every file is asked for again on each load (they are small): a new build shows at once.
      const headers = { 'Content-Type': type, 'Cache-Control': 'no-cache' };
      this.files.set(name, {
        body,
        headers: name === 'index.html' ? { ...headers, ...PAGE_HEADERS } : headers,
      });
    }
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  /** The file answering `pathname` (under /console), or undefined for 404. */
  file(pathname: string): ConsoleFile | undefined {
    const name = pathname.slice(CONSOLE_PREFIX.length + 1);
    return this.files.get(name === '' || name === 'index.html' ? 'index.html' : name);
  }
}

function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
