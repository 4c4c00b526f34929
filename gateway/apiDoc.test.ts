// docs/api.md and the OpenAPI document the gateway serves name the same routes and the same
// error reasons. The page is read by two rules (its "About this page" says them to its editors):
// - a route is a heading whose whole text is one code span, "### `POST /api/v1/payments`";
// - a reason is a cell of a table column headed "reason", one reason in backticks per cell.
// Fenced code blocks are skipped, so a "# comment" in an example is no heading.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isReason } from '../lib/errors';
import { REPO_ROOT } from '../lib/paths';
import { loadProtos } from '../lib/grpc/protos';
import { buildOpenApi } from './openapi';
import { buildRoutes } from './routes';

const API_DOC = 'docs/api.md';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ROUTE_HEADING = /^#{1,6}\s+`([A-Z]+) (\/\S*)`\s*$/;
const REASON_CELL = /^`([A-Z][A-Z0-9_]*)`$/;

interface ApiDoc {
  /** "METHOD /path" of every route heading. */
  routes: string[];
  /** Every reason of a `reason` column, each once. */
  reasons: string[];
  /** Lines that break the rules: a `reason` cell that is not one reason in backticks. */
  problems: string[];
}

/** The cells of a table row, without the outer pipes; `\|` stays inside its cell. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

function readApiDoc(markdown: string): ApiDoc {
  const routes: string[] = [];
  const reasons = new Set<string>();
  const problems: string[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  let reasonColumn: number | undefined;
  let tableRow = 0;
  lines.forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced || /^\s*(```|~~~)/.test(line)) return;
    const heading = ROUTE_HEADING.exec(line);
    if (heading) routes.push(`${heading[1]} ${heading[2]}`);
    if (!line.trim().startsWith('|')) {
      tableRow = 0;
      reasonColumn = undefined;
      return;
    }
    tableRow++;
    if (tableRow === 1) {
      const at = cells(line).indexOf('reason');
      reasonColumn = at >= 0 ? at : undefined;
      return;
    }
    // Row 2 is the delimiter row (| --- |).
    if (tableRow === 2 || reasonColumn === undefined) return;
    const cell = cells(line)[reasonColumn] ?? '';
    const reason = REASON_CELL.exec(cell);
    if (reason) reasons.add(reason[1]);
    else problems.push(`${API_DOC}:${i + 1}: "${cell}" is not one reason in backticks`);
  });
  return { routes, reasons: [...reasons], problems };
}

const minus = (a: readonly string[], b: readonly string[]) => a.filter((x) => !b.includes(x));

describe('docs/api.md against the OpenAPI document', () => {
  const openapi = buildOpenApi(buildRoutes(loadProtos()), 65536) as {
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, { properties: { reason: { enum: string[] } } }> };
  };
  const apiRoutes = Object.entries(openapi.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => HTTP_METHODS.includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
  const apiReasons = openapi.components.schemas['google.rpc.ErrorInfo'].properties.reason.enum;
  const doc = readApiDoc(readFileSync(join(REPO_ROOT, API_DOC), 'utf8'));

  it('reads routes from headings and reasons from reason columns, outside code blocks', () => {
    const sample = [
      '## `GET /a/{id}`',
      'text `POST /not/a/heading`',
      '```sh',
      '# `GET /in/a/fence`',
      '```',
      '| status | reason | when |',
      '| ------ | ------ | ---- |',
      '| 404 | `NOT_FOUND` | `x` \\| `y` |',
      '| 409 | SEAT_UNAVAILABLE | no backticks |',
      '',
      '| code | meaning |',
      '| ---- | ------- |',
      '| `CANCELLED` | not a reason column |',
    ].join('\n');
    expect(readApiDoc(sample)).to.deep.equal({
      routes: ['GET /a/{id}'],
      reasons: ['NOT_FOUND'],
      problems: [`${API_DOC}:9: "SEAT_UNAVAILABLE" is not one reason in backticks`],
    });
  });

  it('writes every reason cell as one reason in backticks', () => {
    expect(doc.problems, 'reason cells to fix').to.deep.equal([]);
  });

  it('has a heading for every route of the OpenAPI document, and for no other', () => {
    expect(
      minus(apiRoutes, doc.routes),
      `routes the OpenAPI document has and ${API_DOC} lacks (add a heading "### \`METHOD /path\`")`,
    ).to.deep.equal([]);
    expect(
      minus(doc.routes, apiRoutes),
      `route headings of ${API_DOC} the OpenAPI document does not have`,
    ).to.deep.equal([]);
    expect(
      doc.routes.filter((r, i) => doc.routes.indexOf(r) !== i),
      `routes with two headings in ${API_DOC}`,
    ).to.deep.equal([]);
  });

  it('names every reason the OpenAPI document lists', () => {
    expect(apiReasons).to.have.length.above(20);
    expect(
      minus(apiReasons, doc.reasons),
      `reasons a client can get that no reason column of ${API_DOC} names`,
    ).to.deep.equal([]);
  });

  it('names only reasons of lib/errors.ts that a client can get', () => {
    expect(
      doc.reasons.filter((r) => !isReason(r)),
      `reasons in ${API_DOC} that lib/errors.ts REASONS does not define`,
    ).to.deep.equal([]);
    expect(
      minus(doc.reasons, apiReasons).filter(isReason),
      `reasons in ${API_DOC} that no client gets (not in the OpenAPI document's reason enum)`,
    ).to.deep.equal([]);
  });
});
