// Swagger UI at /docs, from the swagger-ui-dist package, pointed at our generated document.
// Only the files the package ships (a fixed list read at start-up) can be served, so no
// request path ever reaches the file system.
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';

export const DOCS_PREFIX = '/docs';
export const OPENAPI_PATH = '/docs/openapi.json';

export interface StaticFile {
  contentType: string;
  body: Buffer;
  cacheControl: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.map': 'application/json',
};

const INDEX_HTML = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>boxoffice API</title>
    <link rel="stylesheet" type="text/css" href="${DOCS_PREFIX}/swagger-ui.css" />
    <link rel="icon" type="image/png" href="${DOCS_PREFIX}/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_PREFIX}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="${DOCS_PREFIX}/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="${DOCS_PREFIX}/swagger-initializer.js" charset="UTF-8"></script>
  </body>
</html>
`;

const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '${OPENAPI_PATH}',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

export class SwaggerDocs {
  private readonly dir: string;
  private readonly files: Set<string>;
  private readonly cache = new Map<string, StaticFile>();

  constructor() {
    // The package has no types and no exports map: its package.json locates its directory.
    this.dir = dirname(require.resolve('swagger-ui-dist/package.json'));
    this.files = new Set(
      readdirSync(this.dir).filter(
        (name) =>
          CONTENT_TYPES[extname(name)] !== undefined && statSync(join(this.dir, name)).isFile(),
      ),
    );
  }

  /** The file answering `pathname` (under /docs), or undefined for 404. */
  async file(pathname: string): Promise<StaticFile | undefined> {
    if (
      pathname === DOCS_PREFIX ||
      pathname === `${DOCS_PREFIX}/` ||
      pathname === `${DOCS_PREFIX}/index.html`
    ) {
      return {
        contentType: CONTENT_TYPES['.html'],
        body: Buffer.from(INDEX_HTML),
        cacheControl: 'no-cache',
      };
    }
    const name = pathname.slice(DOCS_PREFIX.length + 1);
    if (name === 'swagger-initializer.js') {
      return {
        contentType: CONTENT_TYPES['.js'],
        body: Buffer.from(INITIALIZER),
        cacheControl: 'no-cache',
      };
    }
    if (!this.files.has(name) || name.endsWith('.html')) return undefined;
    let hit = this.cache.get(name);
    if (!hit) {
      hit = {
        contentType: CONTENT_TYPES[extname(name)],
        body: await readFile(join(this.dir, name)),
        cacheControl: 'public, max-age=3600',
      };
      this.cache.set(name, hit);
    }
    return hit;
  }
}
