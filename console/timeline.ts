// One transaction drawn over time: a lane per branch (saga actions and compensations; XA
// prepares, then the commit or rollback wave) from its first call to its last answer, coloured
// by its state, with the transaction's own moves (decision, parking, retries) as markers.
import type { Transaction } from './api.js';
import { s } from './dom.js';
import { span } from './format.js';
import { branchTone, OPEN } from './states.js';

const WIDTH = 960;
const LABEL = 250;
const PLOT = WIDTH - LABEL - 150;
const LANE = 24;
const TOP = 40;

export function timeline(tx: Transaction, now: number): SVGSVGElement {
  const start = Date.parse(tx.createdAt);
  const lanes = tx.branches
    .filter((b) => b.startedAt && b.endedAt)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const marks = [
    { at: tx.createdAt, label: 'RUNNING' },
    ...tx.history.map((e) => ({
      at: e.at,
      label:
        e.event === 'MOVED' ? e.state : `${e.event}${e.event === 'PARKED' ? '' : ` → ${e.state}`}`,
    })),
  ];
  const instants = [
    ...lanes.flatMap((b) => [Date.parse(b.endedAt)]),
    ...marks.map((m) => Date.parse(m.at)),
    Date.parse(tx.updatedAt),
    OPEN.has(tx.state) || tx.state === 'STUCK' ? now : start,
  ];
  const end = Math.max(start + 1, ...instants);
  const x = (iso: string) => LABEL + ((Date.parse(iso) - start) / (end - start)) * PLOT;
  const height = TOP + Math.max(1, lanes.length) * LANE + 30;

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
    s(
      'g',
      {},
      s('line', {
        x1: LABEL + f * PLOT,
        x2: LABEL + f * PLOT,
        y1: TOP - 6,
        y2: height - 24,
        class: 'tick',
      }),
      s(
        'text',
        { x: LABEL + f * PLOT, y: height - 8, class: 'axis', 'text-anchor': 'middle' },
        `+${span(f * (end - start))}`,
      ),
    ),
  );
  const markers = marks.map((m, i) =>
    s(
      'g',
      { class: `marker event-${m.label.split(' ')[0].toLowerCase()}` },
      s('line', { x1: x(m.at), x2: x(m.at), y1: 10 + (i % 2) * 12, y2: height - 24 }),
      s('text', { x: x(m.at) + 3, y: 18 + (i % 2) * 12, class: 'marker-label' }, m.label),
    ),
  );
  const bars = lanes.map((b, i) => {
    const y = TOP + i * LANE;
    const x0 = x(b.startedAt);
    const w = Math.max(3, x(b.endedAt) - x0);
    const took = Date.parse(b.endedAt) - Date.parse(b.startedAt);
    return s(
      'g',
      {
        class: `lane tone-${branchTone(b.state)}`,
        'data-branch': b.branchId,
        'data-state': b.state,
      },
      s('text', { x: 4, y: y + 15, class: 'lane-label' }, `${b.branchId} (${b.participant})`),
      s(
        'rect',
        { x: x0, y: y + 3, width: w, height: LANE - 8, rx: 3 },
        s(
          'title',
          {},
          `${b.branchId}: ${b.state} after ${b.attempts} attempt(s) in ${span(took)}${b.lastError ? `\n${b.lastError}` : ''}`,
        ),
      ),
      s(
        'text',
        { x: Math.min(x0 + w + 4, WIDTH - 146), y: y + 15, class: 'lane-state' },
        `${b.state}${b.attempts > 1 ? ` ×${b.attempts}` : ''} · ${span(took)}`,
      ),
    );
  });
  return s(
    'svg',
    {
      viewBox: `0 0 ${WIDTH} ${height}`,
      class: 'timeline',
      id: 'timeline',
      role: 'img',
      'aria-label': `timeline of ${tx.gid}`,
    },
    ticks,
    markers,
    bars,
  );
}
