// The audit trail: every operator action, done or refused, newest first.
import type { OperatorAction } from './api.js';
import { fill, h } from './dom.js';
import { time } from './format.js';
import { live } from './live.js';
import type { Page } from './page.js';

export const actionsPage: Page = (ctx) => {
  const rows = h('tbody');
  fill(
    ctx.root,
    h('h2', {}, 'Audit trail'),
    h(
      'p',
      { class: 'muted' },
      'Who did what to which transaction or queue, when, and what came of it.',
    ),
    h(
      'table',
      { class: 'list', id: 'audit-trail' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['at', 'who', 'action', 'target', 'seen as', 'result', 'detail'].map((c) =>
            h('th', {}, c),
          ),
        ),
      ),
      rows,
    ),
  );
  const feed = live(async () => {
    try {
      const { actions } = await ctx.api.get<{ actions: OperatorAction[] }>(
        '/admin/operator-actions',
        {
          limit: 100,
        },
      );
      fill(
        rows,
        actions.map((a) =>
          h(
            'tr',
            {},
            h('td', {}, time(a.at)),
            h('td', {}, a.actor),
            h('td', {}, a.action),
            h(
              'td',
              { class: 'id' },
              /^[0-9a-z]{26}$/.test(a.target)
                ? h('a', { href: `#/transactions/${a.target}` }, a.target)
                : a.target,
            ),
            h('td', {}, a.expectedState),
            h('td', {}, h('span', { class: `badge result-${a.result.toLowerCase()}` }, a.result)),
            h('td', {}, a.detail),
          ),
        ),
      );
    } catch (err) {
      ctx.notify(`Audit trail: ${(err as Error).message}`, 'error');
    }
  }, 5000);
  void feed.now();
  return () => feed.stop();
};
