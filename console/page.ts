// What every page of the console gets, and gives back: a way to stop it when another is shown.
import type { Api } from './api.js';

export interface PageContext {
  api: Api;
  /** Where the page draws itself. */
  root: HTMLElement;
  /** The route's segments after the page's name (`#/transactions/<gid>`: [gid]). */
  path: string[];
  /** The route's query (`#/transactions?state=STUCK`). */
  query: URLSearchParams;
  /** Where traces are looked at (JAEGER_UI_URL); empty: no links. */
  jaegerUiUrl: string;
  /** Shows an outcome to the operator. */
  notify(message: string, kind: 'ok' | 'error'): void;
}

/** Draws a page; returns what stops it (its timers). */
export type Page = (ctx: PageContext) => () => void;

/** Changes the route, keeping history (the hash is the console's address). */
export function go(route: string): void {
  location.hash = `#/${route}`;
}
