// One transaction: its state and timings, the actions an operator may take on it (each
// confirmed, each carrying the state the page shows), its branches on a timeline and in a
// table, its history, input and outcome, the actions taken on it, and its trace.
import { ApiError, seg, type Transaction } from './api.js';
import { confirmAction } from './confirm.js';
import { fill, h } from './dom.js';
import { ago, prettyJson, span, time, until } from './format.js';
import { live } from './live.js';
import type { Page } from './page.js';
import { branchTone, OPEN, stateBadge } from './states.js';
import { timeline } from './timeline.js';

export const transactionPage: Page = (ctx) => {
  const gid = ctx.path[0];
  const body = h('div', { id: 'transaction' });
  fill(
    ctx.root,
    h('p', {}, h('a', { href: '#/transactions' }, '‹ Transactions')),
    h('h2', {}, 'Transaction ', h('code', {}, gid)),
    body,
  );
  let shown: Transaction | undefined;

  const refresh = async () => {
    try {
      const { transaction } = await ctx.api.get<{ transaction: Transaction }>(
        `/admin/transactions/${seg(gid)}`,
      );
      shown = transaction;
      draw(transaction);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        feed.stop();
        fill(body, h('p', { class: 'notice error', id: 'not-found' }, err.message));
      } else ctx.notify(`Transaction: ${(err as Error).message}`, 'error');
    }
  };

  /** An action on what the page shows: confirmed, then sent with the state it shows. */
  const act = async (
    verb: 'retry' | 'decide',
    title: string,
    what: string,
    done: (answer: { transaction: Transaction; decision?: string }) => string,
  ) => {
    const seen = shown!;
    const as = seen.state === 'STUCK' ? `STUCK in ${seen.stuckIn}` : seen.state;
    if (!(await confirmAction(title, `Transaction ${seen.gid}, ${as} on this page.`, what))) return;
    try {
      const answer = await ctx.api.post<{ transaction: Transaction; decision?: string }>(
        `/admin/transactions/${seg(seen.gid)}/${verb}`,
        { expectedState: seen.state },
      );
      ctx.notify(done(answer), 'ok');
    } catch (err) {
      const state = err instanceof ApiError ? err.metadata.state : undefined;
      ctx.notify(
        `${title} refused: ${(err as Error).message}${state ? ` (now ${state})` : ''}`,
        'error',
      );
    }
    await feed.now();
  };

  const actions = (t: Transaction) => {
    const open = OPEN.has(t.state) || t.state === 'STUCK';
    return h(
      'div',
      { class: 'actions' },
      open
        ? h(
            'button',
            {
              id: 'retry',
              onclick: () =>
                void act(
                  'retry',
                  'Retry now',
                  'Recovery takes it up at once (unparked, attempts counted afresh) and drives it to its end.',
                  (a) => `Retried: ${a.transaction.state}; recovery is on it.`,
                ),
            },
            'Retry now',
          )
        : null,
      t.inDoubt
        ? h(
            'button',
            {
              id: 'decide',
              class: 'danger',
              onclick: () =>
                void act(
                  'decide',
                  'Decide (presumed abort)',
                  'Its deadline has passed with no decision: the coordinator decides ROLLBACK by its own rule, and recovery rolls every prepared branch back.',
                  (a) => `Decided ${a.decision}: ${a.transaction.state}.`,
                ),
            },
            'Decide…',
          )
        : null,
      !open ? h('span', { class: 'muted' }, 'Ended: no action.') : null,
    );
  };

  const draw = (t: Transaction) => {
    const now = Date.now();
    const facts: [string, Node | string][] = [
      ['state', stateBadge(t)],
      ['flow', `${t.flow} (${t.mode})`],
      ['begun', `${time(t.createdAt)} (${ago(t.createdAt, now)})`],
      ['deadline', `${time(t.deadlineAt)} (${until(t.deadlineAt, now)})`],
      ['updated', time(t.updatedAt)],
      ['recovery attempts', String(t.attempts)],
      ['next attempt', t.nextAttemptAt ? until(t.nextAttemptAt, now) : '—'],
      ['parked', t.parkedAt ? `${time(t.parkedAt)} (${ago(t.parkedAt, now)})` : '—'],
      ['user', t.userId || '—'],
      ['reservation', t.reservationId || '—'],
      ['payment', t.paymentId || '—'],
      ['last error', t.lastError || '—'],
      [
        'trace',
        t.traceId && ctx.jaegerUiUrl
          ? h(
              'a',
              { href: `${ctx.jaegerUiUrl}/trace/${t.traceId}`, target: '_blank', id: 'trace' },
              t.traceId,
            )
          : t.traceId || 'not traced',
      ],
    ];
    fill(
      body,
      actions(t),
      h(
        'dl',
        { class: 'facts' },
        facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, v)]),
      ),
      h('h3', {}, 'Timeline'),
      t.branches.length ? timeline(t, now) : h('p', { class: 'muted' }, 'No branch recorded yet.'),
      h('h3', {}, 'Branches'),
      h(
        'table',
        { class: 'list', id: 'branches' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            [
              'branch',
              'participant',
              'action',
              'state',
              'attempts',
              'started',
              'took',
              'last error',
            ].map((c) => h('th', {}, c)),
          ),
        ),
        h(
          'tbody',
          {},
          t.branches.map((b) =>
            h(
              'tr',
              { 'data-branch': b.branchId },
              h('td', {}, b.branchId),
              h('td', {}, b.participant),
              h('td', {}, b.action),
              h('td', {}, h('span', { class: `badge tone-${branchTone(b.state)}` }, b.state)),
              h('td', { class: 'num' }, b.attempts),
              h('td', {}, time(b.startedAt)),
              h(
                'td',
                {},
                b.startedAt && b.endedAt
                  ? span(Date.parse(b.endedAt) - Date.parse(b.startedAt))
                  : '—',
              ),
              h('td', { class: 'error-text', title: b.lastError }, b.lastError),
            ),
          ),
        ),
      ),
      h('h3', {}, 'History'),
      h(
        'table',
        { class: 'list', id: 'history' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['at', 'event', 'state', 'detail'].map((c) => h('th', {}, c)),
          ),
        ),
        h(
          'tbody',
          {},
          h(
            'tr',
            {},
            h('td', {}, time(t.createdAt)),
            h('td', {}, 'BEGUN'),
            h('td', {}, 'RUNNING'),
            h('td'),
          ),
          t.history.map((e) =>
            h(
              'tr',
              {},
              h('td', {}, time(e.at)),
              h('td', {}, e.event),
              h('td', {}, e.state),
              h('td', {}, e.detail),
            ),
          ),
        ),
      ),
      h('div', { class: 'columns' }, [
        h('div', {}, h('h3', {}, 'Input'), h('pre', { id: 'input' }, prettyJson(t.input))),
        h(
          'div',
          {},
          h('h3', {}, 'Outcome'),
          h('pre', { id: 'outcome' }, t.outcome ? prettyJson(t.outcome) : 'none yet'),
        ),
      ]),
      h('h3', {}, 'Operator actions'),
      t.actions.length
        ? h(
            'table',
            { class: 'list', id: 'actions' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['at', 'who', 'action', 'seen as', 'result', 'detail'].map((c) => h('th', {}, c)),
              ),
            ),
            h(
              'tbody',
              {},
              t.actions.map((a) =>
                h(
                  'tr',
                  {},
                  h('td', {}, time(a.at)),
                  h('td', {}, a.actor),
                  h('td', {}, a.action),
                  h('td', {}, a.expectedState),
                  h(
                    'td',
                    {},
                    h('span', { class: `badge result-${a.result.toLowerCase()}` }, a.result),
                  ),
                  h('td', {}, a.detail),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'None.'),
    );
  };

  const feed = live(refresh);
  void feed.now();
  return () => feed.stop();
};
