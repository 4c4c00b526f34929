// How transaction states read and look: labels and the badge of a state.
import type { Transaction, TxStateName } from './api.js';
import { h } from './dom.js';

/** The states a listing filters on, in the order an operator scans them. */
export const FILTER_STATES: [TxStateName, string][] = [
  ['RUNNING', 'running'],
  ['COMMITTING', 'committing'],
  ['ABORTING', 'aborting'],
  ['COMPENSATING', 'compensating'],
  ['STUCK', 'stuck'],
  ['IN_DOUBT', 'in doubt'],
  ['COMMITTED', 'committed'],
  ['ABORTED', 'aborted / compensated'],
];

export const OPEN = new Set<TxStateName>(['RUNNING', 'COMMITTING', 'ABORTING', 'COMPENSATING']);

export function stateBadge(t: Pick<Transaction, 'state' | 'stuckIn' | 'inDoubt'>): HTMLElement {
  const label = t.state === 'STUCK' ? `STUCK in ${t.stuckIn}` : t.state;
  return h(
    'span',
    { class: `badge state-${t.state.toLowerCase()}`, 'data-state': t.state },
    label,
    t.inDoubt ? h('span', { class: 'badge state-in_doubt' }, 'IN DOUBT') : null,
  );
}

/** What a branch state means for its colour on the timeline and in tables. */
export function branchTone(state: string): 'ok' | 'failed' | 'refused' | 'undone' | 'prepared' {
  switch (state) {
    case 'FAILED':
      return 'failed';
    case 'REFUSED':
      return 'refused';
    case 'COMPENSATED':
    case 'ROLLED_BACK':
      return 'undone';
    case 'PREPARED':
      return 'prepared';
    default:
      return 'ok';
  }
}
