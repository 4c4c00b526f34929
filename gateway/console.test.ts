import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleAssets } from './console';

describe('console assets', () => {
  let dir = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-'));
    writeFileSync(join(dir, 'index.html'), '<body data-jaeger-ui="%JAEGER_UI_URL%"></body>');
    writeFileSync(join(dir, 'main.js'), 'export {};');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    mkdirSync(join(dir, 'pages'));
    writeFileSync(join(dir, 'pages', 'one.js'), 'export {};');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the page at /console and /console/, with the Jaeger URL escaped into it', () => {
    const assets = new ConsoleAssets('http://jaeger.example/"x"', dir);
    for (const path of ['/console', '/console/', '/console/index.html']) {
      const page = assets.file(path)!;
      expect(page.body.toString()).to.equal(
        '<body data-jaeger-ui="http://jaeger.example/&#34;x&#34;"></body>',
      );
      expect(page.headers).to.include({
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
        'X-Frame-Options': 'DENY',
      });
      expect(page.headers['Content-Security-Policy']).to.match(/default-src 'none'/);
    }
  });

  it('serves only the built files it found, with their types', () => {
    const assets = new ConsoleAssets('', dir);
    expect(assets.file('/console/main.js')!.headers['Content-Type']).to.equal(
      'text/javascript; charset=utf-8',
    );
    expect(assets.file('/console/pages/one.js')).to.not.equal(undefined);
    expect(assets.file('/console/notes.txt')).to.equal(undefined);
    expect(assets.file('/console/../package.json')).to.equal(undefined);
    expect(assets.file('/console/missing.js')).to.equal(undefined);
  });

  it('serves nothing when the console was not built', () => {
    const assets = new ConsoleAssets('', join(dir, 'nowhere'));
    expect(assets.built).to.equal(false);
    expect(assets.file('/console')).to.equal(undefined);
  });
});
