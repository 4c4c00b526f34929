// Operator command: checks the cross-database invariants and exits non-zero on a violation.
import { loadConfig } from '../lib/config';
import { audit, report } from '../ops/audit';

audit(loadConfig()).then(
  (checks) => {
    process.stdout.write(`${report(checks)}\n`);
    process.exit(checks.every((c) => c.ok) ? 0 : 1);
  },
  (err: unknown) => {
    process.stderr.write(`audit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
