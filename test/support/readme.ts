// The README's "Calling the API" walkthrough as runnable shell: its ```sh blocks, run with bash
// in the repository while shell functions stand in for the tools and report every call.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../lib/paths';

/** The ```sh blocks under "## Calling the API", in order. */
export function walkthroughBlocks(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /^## Calling the API\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Calling the API" section');
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** The one walkthrough block that runs `tool` (curl, grpcurl) as a command. */
export function blockCalling(tool: string): string {
  const command = new RegExp(`(^|[\\s(;|&])${tool}\\s`, 'm');
  const blocks = walkthroughBlocks().filter((b) => command.test(b));
  if (blocks.length !== 1)
    throw new Error(`README's walkthrough has ${blocks.length} blocks calling ${tool}, not 1`);
  return blocks[0];
}

/** curl itself, also reporting each answer: HTTP status, body, then curl's arguments. */
export const CURL_SHIM = `curl() {
  local body code
  body=$(mktemp)
  code=$(command curl -o "$body" -w '%{http_code}' "$@")
  report "$code" "$(cat "$body")" "$@"
  cat "$body"
  rm -f "$body"
}`;

/** grpcurl, which is not installed here: only reports its arguments, for the caller to play. */
export const GRPCURL_SHIM = `grpcurl() { report "$@"; }`;

/**
 * Runs `script` with bash in the repository (errexit, nounset, pipefail), after `shims`: shell
 * functions standing in for tools, which call `report FIELD...` once per call. Resolves with
 * every report, in order; rejects when the script fails.
 */
export function runWithShims(
  script: string,
  shims: string,
  env: Record<string, string>,
): Promise<string[][]> {
  // Reports go to fd 3 as a field count and the fields, each NUL-terminated: any text fits.
  const prelude = [
    'set -euo pipefail',
    'shopt -s inherit_errexit',
    `report() { printf '%s\\0' "$#" "$@" >&3; }`,
    shims,
  ].join('\n');
  const child = spawn('bash', ['-c', `${prelude}\n${script}`], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const streams = child.stdio as unknown as NodeJS.ReadableStream[];
  const collect = (s: NodeJS.ReadableStream) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    return () => Buffer.concat(chunks).toString('utf8');
  };
  const stderr = collect(streams[2]);
  const reports = collect(streams[3]);
  streams[1].resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`walkthrough exited with ${code}:\n${stderr()}`));
      resolve(parseReports(reports()));
    });
  });
}

function parseReports(text: string): string[][] {
  const fields = text.split('\0');
  const out: string[][] = [];
  for (let i = 0; i < fields.length - 1;) {
    const count = Number(fields[i]);
    out.push(fields.slice(i + 1, i + 1 + count));
    i += 1 + count;
  }
  return out;
}
