// The operator console: sign-in with a pasted admin token, then one page per route of the hash
// (#/transactions, #/transactions/<gid>, #/parked, #/invariants, #/seats, #/actions).
import { Api, ApiError } from './api.js';
import { actionsPage } from './actionsPage.js';
import { fill, h } from './dom.js';
import { invariantsPage } from './invariantsPage.js';
import type { Page } from './page.js';
import { parkedPage } from './parkedPage.js';
import { seatMapPage } from './seatMapPage.js';
import { current, signIn, signOut } from './session.js';
import { transactionPage } from './transactionPage.js';
import { transactionsPage } from './transactionsPage.js';

const NAV: [route: string, label: string][] = [
  ['transactions', 'Transactions'],
  ['parked', 'Parked events'],
  ['invariants', 'Health of the money'],
  ['seats', 'Seat map'],
  ['actions', 'Audit trail'],
];

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const who = document.getElementById('who')!;
const notice = document.getElementById('notice')!;
const jaegerUiUrl = document.body.dataset.jaegerUi ?? '';
let stopPage: (() => void) | undefined;

function notify(message: string, kind: 'ok' | 'error'): void {
  fill(notice, h('div', { class: `notice ${kind}`, role: 'status' }, message));
}

/** A refused token: signed out (401), or not an operator's (403), and nothing is shown. */
function refused(err: ApiError): void {
  stopPage?.();
  stopPage = undefined;
  if (err.status === 401) {
    signOut();
    showSignIn(`The gateway refused the token (${err.reason}): ${err.message}`);
    return;
  }
  fill(
    main,
    h(
      'section',
      { class: 'forbidden' },
      h('h2', {}, 'Not an operator'),
      h('p', {}, `${err.reason}: ${err.message}`),
      h('p', {}, 'The console needs a token with role "admin".'),
      h('button', { onclick: () => leave() }, 'Use another token'),
    ),
  );
}

const api = new Api(() => current()?.token ?? '', refused);

function leave(): void {
  signOut();
  showSignIn();
}

function showSignIn(message?: string): void {
  stopPage?.();
  stopPage = undefined;
  fill(nav);
  fill(who);
  const input = h('textarea', {
    id: 'token',
    rows: 4,
    placeholder: 'eyJhbGciOiJIUzI1NiIs…',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const error = h('p', { class: 'error' }, message ?? '');
  const submit = (e: Event) => {
    e.preventDefault();
    try {
      signIn(input.value);
      route();
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };
  fill(
    main,
    h(
      'form',
      { class: 'sign-in', onsubmit: submit },
      h('h2', {}, 'Sign in'),
      h(
        'p',
        {},
        'Paste an admin access token of the REST API (',
        h('code', {}, 'npm run -s token -- --user ops --admin'),
        '). It stays in this tab only.',
      ),
      input,
      error,
      h('button', { type: 'submit', id: 'sign-in' }, 'Sign in'),
    ),
  );
}

const PAGES: Record<string, Page> = {
  transactions: (ctx) => (ctx.path.length ? transactionPage(ctx) : transactionsPage(ctx)),
  parked: parkedPage,
  invariants: invariantsPage,
  seats: seatMapPage,
  actions: actionsPage,
};

function route(): void {
  const signed = current();
  if (!signed) return showSignIn();
  if (signed.expiresAt <= Date.now()) {
    signOut();
    return showSignIn('The token has expired: paste a new one.');
  }
  const [path, qs = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'transactions', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const page = PAGES[name] ?? PAGES.transactions;
  fill(
    nav,
    NAV.map(([r, label]) =>
      h('a', { href: `#/${r}`, class: r === name ? 'active' : undefined }, label),
    ),
  );
  fill(
    who,
    h('span', {}, `${signed.user}${signed.admin ? '' : ' (no admin role)'}`),
    h('button', { class: 'secondary', id: 'sign-out', onclick: () => leave() }, 'Sign out'),
  );
  stopPage?.();
  fill(notice);
  fill(main);
  stopPage = page({
    api,
    root: main,
    path: rest,
    query: new URLSearchParams(qs),
    jaegerUiUrl,
    notify,
  });
}

window.addEventListener('hashchange', route);
route();
