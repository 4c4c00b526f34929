// The run's chart as hand-written SVG (no dependency): grouped bars of throughput per system,
// then p50/p95/p99 of Reserve, Pay, and Pay at half of each mode's peak.
import { fmt, type BenchResults, type PhaseResult, type SystemName } from './results';

export interface Series {
  name: string;
  color: string;
}

export interface BarGroup {
  label: string;
  /** One value per series; undefined draws no bar. */
  values: (number | undefined)[];
}

const WIDTH = 1000;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 70, right: 20, top: 60, bottom: 40 };

const SYSTEM_COLORS: Partial<Record<SystemName, string>> = {
  saga: '#1f77b4',
  xa: '#ff7f0e',
  monolith: '#2ca02c',
  'raw-monolith': '#98df8a',
  'raw-saga': '#aec7e8',
  'raw-xa': '#ffbb78',
};
const PERCENTILES: Series[] = [
  { name: 'p50', color: '#9ecae1' },
  { name: 'p95', color: '#4292c6' },
  { name: 'p99', color: '#08519c' },
];

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A round upper bound for an axis: 1, 2, 2.5 or 5 × a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const pow = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * pow >= max) return step * pow;
  return 10 * pow;
}

/** One panel of grouped bars at vertical offset `top`. */
export function panel(
  top: number,
  title: string,
  unit: string,
  series: Series[],
  groups: BarGroup[],
): string {
  const x0 = MARGIN.left;
  const y0 = top + MARGIN.top;
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const h = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => g.values.map((v) => v ?? 0))));
  const parts: string[] = [
    `<text x="${x0}" y="${top + 22}" class="title">${escapeXml(title)}</text>`,
  ];
  // The legend on its own line under the title, left to right.
  series.forEach((s, i) => {
    const lx = x0 + i * 120;
    parts.push(
      `<rect x="${lx}" y="${top + 31}" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${lx + 16}" y="${top + 41}" class="legend">${escapeXml(s.name)}</text>`,
    );
  });
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    const y = y0 + h - (h * i) / 4;
    parts.push(
      `<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" class="grid"/>`,
      `<text x="${x0 - 6}" y="${y + 4}" class="axis" text-anchor="end">${fmt(v)}</text>`,
    );
  }
  parts.push(
    `<text x="16" y="${y0 + h / 2}" class="axis" transform="rotate(-90 16 ${y0 + h / 2})" text-anchor="middle">${escapeXml(unit)}</text>`,
  );
  const groupW = w / Math.max(1, groups.length);
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, series.length));
  groups.forEach((g, gi) => {
    const gx = x0 + gi * groupW + (groupW - barW * series.length) / 2;
    g.values.forEach((v, si) => {
      if (v === undefined || !Number.isFinite(v)) return;
      const bh = (h * Math.max(0, v)) / max;
      const bx = gx + si * barW;
      parts.push(
        `<rect x="${bx.toFixed(1)}" y="${(y0 + h - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${series[si].color}"><title>${escapeXml(`${g.label} ${series[si].name}: ${fmt(v)} ${unit}`)}</title></rect>`,
        `<text x="${(bx + barW / 2 - 1).toFixed(1)}" y="${(y0 + h - bh - 3).toFixed(1)}" class="value" text-anchor="middle">${fmt(v)}</text>`,
      );
    });
    parts.push(
      `<text x="${(x0 + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + h + 18}" class="axis" text-anchor="middle">${escapeXml(g.label)}</text>`,
    );
  });
  return parts.join('\n');
}

function percentiles(p: PhaseResult | undefined): (number | undefined)[] {
  return p ? [p.latency.p50, p.latency.p95, p.latency.p99] : [undefined, undefined, undefined];
}

export function chart(r: BenchResults): string {
  const s = r.systems;
  const systems = (Object.keys(SYSTEM_COLORS) as SystemName[]).filter(
    (n) => s[n]?.pay || s[n]?.reserve,
  );
  const panels: string[] = [];
  let top = 40;
  const add = (title: string, unit: string, series: Series[], groups: BarGroup[]) => {
    if (groups.length === 0) return;
    panels.push(panel(top, title, unit, series, groups));
    top += PANEL_HEIGHT;
  };
  add(
    'Peak throughput (closed loop)',
    'flows/s',
    systems.map((n) => ({ name: n, color: SYSTEM_COLORS[n]! })),
    [
      { label: 'Reserve', values: systems.map((n) => s[n]?.reserve?.throughput) },
      { label: 'Pay', values: systems.map((n) => s[n]?.pay?.throughput) },
    ],
  );
  add(
    'Pay latency at peak',
    'ms',
    PERCENTILES,
    systems.map((n) => ({ label: n, values: percentiles(s[n]?.pay) })),
  );
  add(
    'Reserve latency at peak',
    'ms',
    PERCENTILES,
    systems.map((n) => ({ label: n, values: percentiles(s[n]?.reserve) })),
  );
  const half: BarGroup[] = [];
  for (const mode of ['saga', 'xa'] as const) {
    const own = s[mode]?.payHalf;
    if (own) half.push({ label: `${mode} @ ${fmt(own.rate)}/s`, values: percentiles(own) });
    const base = s.monolith?.payAt?.[mode];
    if (base) half.push({ label: `monolith @ ${fmt(base.rate)}/s`, values: percentiles(base) });
  }
  add("Pay latency at half of each mode's peak (open loop)", 'ms', PERCENTILES, half);
  const height = top + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.title{font-size:15px;font-weight:bold}.legend,.axis{font-size:11px;fill:#333}.value{font-size:9px;fill:#333}.grid{stroke:#ddd;stroke-width:1}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="17" font-weight="bold">${escapeXml(`boxoffice bench ${r.startedAt}${r.smoke ? ' (smoke)' : ''}`)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
