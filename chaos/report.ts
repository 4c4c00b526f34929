// The chaos report: per mode the fault log, the load's view, quiet, and each invariant.
import { report } from '../ops/audit';
import { formatFault } from './faults';
import { tallyFaults } from './plan';
import type { ModeResult } from './run';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function tally(map: Record<string, number>): string {
  const entries = Object.entries(map).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, n]) => `${k} ×${n}`).join(', ') : 'none';
}

export function violations(r: ModeResult): number {
  return r.checks.filter((c) => !c.ok).length;
}

export function modeReport(r: ModeResult): string {
  const out: string[] = [];
  out.push(
    `=== TX_MODE=${r.mode}  seed ${r.seed}  run ${r.runId}  ${r.ok ? 'PASS' : 'FAIL'}  (${secs(r.durationMs)}) ===`,
  );
  out.push(`fault log (${r.faults.length} faults: ${tallyFaults(r.faults)}):`);
  out.push(...r.faults.map(formatFault));
  out.push(
    `processes that exited on their own: ${
      r.incidents.length === 0
        ? 'none'
        : r.incidents
            .map((i) => `${i.group} at ${secs(i.atMs)} (code ${i.code}, signal ${i.signal})`)
            .join('; ')
    }`,
  );
  if (r.load) {
    const l = r.load;
    out.push(
      `load: ${l.journeys} journeys, ${l.reserved} holds, ${l.paid} paid, ${l.refunded} refunded, ` +
        `${l.insufficientPoints} refused for too few points, ${l.abandoned} left to expire, ` +
        `${l.seatTaken} seats taken, ${l.payNewKey} payments retried under a new key, ` +
        `${l.payLookedUp} found paid by a lookup, ${l.gaveUp} calls given up`,
    );
    out.push(`  unknown answers, retried: ${tally(l.unknown)}`);
    out.push(`  other refusals: ${tally(l.refused)}`);
  }
  if (r.quiet)
    out.push(
      `quiet: ${r.quiet.reached ? 'reached' : 'NOT reached'} after ${secs(r.quiet.ms)} ${JSON.stringify(r.quiet.state)}`,
    );
  if (r.checks.length) {
    out.push(
      `invariants (audit pass ${r.auditPasses}${r.auditPasses > 1 ? ', re-run while deliveries landed' : ''}):`,
    );
    out.push(
      report(r.checks)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  if (r.evidence.length) out.push('evidence:', ...r.evidence.map((l) => `  ${l}`));
  if (r.error) out.push(`ERROR: ${r.error}`);
  out.push(`logs: ${r.logDir}`);
  return out.join('\n');
}

export function summary(results: ModeResult[]): string {
  const rows = results.map(
    (r) =>
      `  ${r.mode.padEnd(5)} ${String(r.faults.length).padStart(6)} ` +
      `${String(r.faults.filter((f) => f.error).length).padStart(12)} ` +
      `${String(r.incidents.length).padStart(9)} ${String(violations(r)).padStart(10)}   ` +
      `${r.ok ? 'PASS' : `FAIL${r.error ? ` (${r.error})` : ''}`}`,
  );
  return [
    '=== chaos summary ===',
    '  mode  faults  fault errors  own exits  violations   result',
    ...rows,
  ].join('\n');
}
