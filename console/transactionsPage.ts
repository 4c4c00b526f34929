// Transactions, newest first: counts per state, filters (state, flow, mode, age, user,
// reservation, payment), pages from the server, refreshed live.
import type { TransactionPage } from './api.js';
import { fill, h } from './dom.js';
import { ago } from './format.js';
import { live } from './live.js';
import { go, type Page } from './page.js';
import { FILTER_STATES, stateBadge } from './states.js';

const AGES: [value: string, label: string, query: Record<string, number>][] = [
  ['', 'any age', {}],
  ['older-1m', 'older than 1 min', { minAgeSeconds: 60 }],
  ['older-10m', 'older than 10 min', { minAgeSeconds: 600 }],
  ['older-1h', 'older than 1 h', { minAgeSeconds: 3600 }],
  ['newer-1h', 'last hour', { maxAgeSeconds: 3600 }],
  ['newer-24h', 'last 24 h', { maxAgeSeconds: 86_400 }],
];
const TEXT_FILTERS: [key: string, label: string][] = [
  ['userId', 'user'],
  ['reservationId', 'reservation'],
  ['paymentId', 'payment'],
];
const FILTER_KEYS = ['state', 'flow', 'mode', 'age', ...TEXT_FILTERS.map(([k]) => k)];
const PAGE_SIZE = 25;

export const transactionsPage: Page = (ctx) => {
  const q = ctx.query;
  /** Page tokens of the pages before this one, and of this one (the first is ''). */
  const tokens = [''];
  let next = '';
  const counts = h('div', { class: 'counts', id: 'counts' });
  const rows = h('tbody');
  const pager = h('div', { class: 'pager' });
  const updated = h('span', { class: 'muted' });

  const select = (name: string, options: [string, string][]) =>
    h(
      'select',
      { name, id: `filter-${name}` },
      options.map(([value, label]) =>
        h('option', { value, selected: (q.get(name) ?? '') === value }, label),
      ),
    );
  const form = h(
    'form',
    {
      class: 'filters',
      id: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const chosen = new URLSearchParams();
        for (const key of FILTER_KEYS) {
          const raw = data.get(key);
          const v = typeof raw === 'string' ? raw.trim() : '';
          if (v) chosen.set(key, v);
        }
        go(`transactions?${chosen.toString()}`);
      },
    },
    select('state', [['', 'every state'], ...FILTER_STATES]),
    select('flow', [
      ['', 'every flow'],
      ...['reserve', 'pay', 'refund', 'expire'].map((f): [string, string] => [f, f]),
    ]),
    select('mode', [
      ['', 'both modes'],
      ['xa', 'xa'],
      ['saga', 'saga'],
    ]),
    select(
      'age',
      AGES.map(([v, l]) => [v, l]),
    ),
    TEXT_FILTERS.map(([key, label]) =>
      h('input', { name: key, id: `filter-${key}`, placeholder: label, value: q.get(key) ?? '' }),
    ),
    h('button', { type: 'submit' }, 'Filter'),
    h('a', { href: '#/transactions', class: 'button secondary' }, 'Clear'),
  );

  const query = () => {
    const age = AGES.find(([v]) => v === q.get('age'))?.[2] ?? {};
    return {
      state: q.get('state') ?? undefined,
      flow: q.get('flow') ?? undefined,
      mode: q.get('mode') ?? undefined,
      userId: q.get('userId') ?? undefined,
      reservationId: q.get('reservationId') ?? undefined,
      paymentId: q.get('paymentId') ?? undefined,
      ...age,
      limit: PAGE_SIZE,
      pageToken: tokens.at(-1),
    };
  };

  const refresh = async () => {
    try {
      const page = await ctx.api.get<TransactionPage>('/admin/transactions', query());
      draw(page);
    } catch (err) {
      ctx.notify(`Transactions: ${(err as Error).message}`, 'error');
    }
  };

  const draw = (page: TransactionPage) => {
    const byState = new Map(page.counts.map((c) => [c.state, c.count]));
    fill(
      counts,
      FILTER_STATES.map(([state, label]) => {
        const chosen = new URLSearchParams(q);
        chosen.set('state', state);
        return h(
          'a',
          {
            href: `#/transactions?${chosen.toString()}`,
            class: `count state-${state.toLowerCase()}${q.get('state') === state ? ' active' : ''}`,
            'data-state': state,
          },
          h('strong', {}, byState.get(state) ?? 0),
          ` ${label}`,
        );
      }),
    );
    const now = Date.now();
    fill(
      rows,
      page.transactions.length === 0
        ? h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No transaction matches.'))
        : page.transactions.map((t) =>
            h(
              'tr',
              { 'data-gid': t.gid },
              h('td', {}, h('a', { href: `#/transactions/${t.gid}`, class: 'gid' }, t.gid)),
              h('td', {}, t.flow),
              h('td', {}, t.mode),
              h('td', {}, stateBadge(t)),
              h('td', { class: 'num' }, t.attempts),
              h('td', {}, t.userId),
              h('td', { class: 'id' }, t.reservationId),
              h('td', { class: 'id' }, t.paymentId),
              h('td', { title: t.createdAt }, ago(t.createdAt, now)),
              h('td', { class: 'error-text', title: t.lastError }, t.lastError),
            ),
          ),
    );
    next = page.nextPageToken;
    fill(
      pager,
      h(
        'button',
        {
          class: 'secondary',
          disabled: tokens.length === 1,
          onclick: () => {
            tokens.pop();
            void feed.now();
          },
        },
        '‹ Newer',
      ),
      h('span', {}, `page ${tokens.length}`),
      h(
        'button',
        {
          class: 'secondary',
          disabled: next === '',
          onclick: () => {
            tokens.push(next);
            void feed.now();
          },
        },
        'Older ›',
      ),
    );
    updated.textContent = `updated ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
  };

  fill(
    ctx.root,
    h('h2', {}, 'Transactions'),
    counts,
    form,
    h(
      'table',
      { class: 'list', id: 'transactions' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          [
            'gid',
            'flow',
            'mode',
            'state',
            'attempts',
            'user',
            'reservation',
            'payment',
            'begun',
          ].map((c) => h('th', {}, c)),
          h('th', {}, 'last error'),
        ),
      ),
      rows,
    ),
    h('div', { class: 'footer' }, pager, updated),
  );
  const feed = live(refresh);
  void feed.now();
  return () => feed.stop();
};
