// docs/trust.md's table of who may call what is the protos' access options, row for row: a rule
// changed in one and not the other fails here, naming the RPC.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../paths';
import { accessRules, type UserPolicy } from './access';
import { CONTRACT_FILES } from './protos';

const USER: Record<string, UserPolicy> = {
  '': 'NO_USER',
  any: 'ANY_USER',
  required: 'USER_REQUIRED',
  admin: 'ADMIN_REQUIRED',
};
const PARTICIPANTS = ['concert', 'reservation', 'payment', 'point'];

/** The table after the access-table marker: `Service/Method` → its rule as the doc says it. */
function documented(): Map<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'trust.md'), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes('<!-- access-table'));
  expect(start, 'docs/trust.md has no access-table marker').to.be.greaterThan(-1);
  const rows = new Map<string, string>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' && rows.size > 0) break;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    const rpc = /^`([A-Za-z]+\/[A-Za-z]+)`$/.exec(cells[0] ?? '')?.[1];
    if (!rpc) continue;
    const callers = cells[1]
      .split(',')
      .flatMap((c) => (c.trim() === 'participant' ? PARTICIPANTS : [c.trim()]));
    rows.set(rpc, ruleText([...callers].sort(), cells[2] === 'yes', USER[cells[3] ?? '']));
  }
  return rows;
}

function ruleText(callers: string[], transaction: boolean, user: UserPolicy): string {
  return `callers ${callers.join(',')}; transaction ${transaction}; user ${user}`;
}

describe('docs/trust.md against the access options', () => {
  it('lists every RPC with exactly the rule its proto declares', () => {
    const declared = new Map(
      [...accessRules(CONTRACT_FILES)].map(([path, r]) => [
        path.replace(/^\/boxoffice\.\w+\.v1\./, ''),
        ruleText([...r.callers].sort(), r.transaction, r.user),
      ]),
    );
    const doc = documented();
    const problems: string[] = [];
    for (const [rpc, rule] of declared) {
      if (!doc.has(rpc)) problems.push(`${rpc}: missing from docs/trust.md`);
      else if (doc.get(rpc) !== rule)
        problems.push(`${rpc}: docs say "${doc.get(rpc)}", the proto "${rule}"`);
    }
    for (const rpc of doc.keys()) if (!declared.has(rpc)) problems.push(`${rpc}: no such RPC`);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
