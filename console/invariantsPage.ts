// The health of the money: the auditor's invariants over every database, run on demand, each
// with its result and the offending rows.
import type { AuditRun } from './api.js';
import { fill, h } from './dom.js';
import { prettyJson, time } from './format.js';
import type { Page } from './page.js';

export const invariantsPage: Page = (ctx) => {
  const body = h('div', { id: 'invariants' });
  const run = h('button', { id: 'run-invariants' }, 'Run the invariants');
  let stopped = false;
  run.addEventListener('click', () => {
    run.disabled = true;
    fill(body, h('p', { class: 'muted' }, 'Reading every database…'));
    ctx.api
      .get<AuditRun>('/admin/invariants')
      .then((r) => !stopped && draw(r))
      .catch((err: Error) => !stopped && fill(body, h('p', { class: 'notice error' }, err.message)))
      .finally(() => (run.disabled = false));
  });
  fill(
    ctx.root,
    h('h2', {}, 'Health of the money'),
    h(
      'p',
      { class: 'muted' },
      'Seats sold once, balances equal to their ledgers, no transaction open or XA branch prepared past its interval, every completed reservation delivered once, nothing parked. Read-only; it reads every database.',
    ),
    run,
    body,
  );

  const draw = (r: AuditRun) =>
    fill(
      body,
      h(
        'p',
        { class: `summary ${r.ok ? 'ok' : 'failed'}`, id: 'audit-summary' },
        r.ok
          ? 'Every invariant holds.'
          : `${r.invariants.filter((i) => !i.ok).length} invariant(s) broken.`,
        h('span', { class: 'muted' }, ` Checked ${time(r.checkedAt)} in ${r.tookMs} ms.`),
      ),
      h(
        'ul',
        { class: 'invariants' },
        r.invariants.map((i) =>
          h(
            'li',
            {
              class: i.skipped ? 'skipped' : i.ok ? 'ok' : 'failed',
              'data-ok': String(i.ok),
              'data-skipped': i.skipped ? 'true' : undefined,
            },
            h('span', { class: 'mark' }, i.skipped ? '–' : i.ok ? '✓' : '✗'),
            ` ${i.name}`,
            i.skipped ? h('span', { class: 'muted' }, ` (not checked: ${i.skipped})`) : null,
            i.ok
              ? null
              : h(
                  'details',
                  { open: true },
                  h(
                    'summary',
                    {},
                    `${i.count} offending row(s)${i.count > i.rows.length ? `, the first ${i.rows.length}` : ''}`,
                  ),
                  h('pre', {}, i.rows.map((row) => prettyJson(row)).join('\n')),
                ),
          ),
        ),
      ),
    );
  return () => {
    stopped = true;
  };
};
