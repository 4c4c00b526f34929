// How times, ages and durations read on the page.

/** "12:03:04.512" in local time, with the date when it is not today. */
export function time(iso: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  const clock =
    d.toLocaleTimeString(undefined, { hour12: false }) + `.${pad(d.getMilliseconds(), 3)}`;
  return d.toDateString() === new Date().toDateString()
    ? clock
    : `${d.toISOString().slice(0, 10)} ${clock}`;
}

/** "3 s", "4 min", "2 h", "5 d" between two instants (ms). */
export function span(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`;
  if (abs < 3_600_000) return `${Math.floor(abs / 60_000)} min`;
  if (abs < 86_400_000) return `${Math.floor(abs / 3_600_000)} h`;
  return `${Math.floor(abs / 86_400_000)} d`;
}

/** How long ago an instant was: "4 min ago". */
export function ago(iso: string, now = Date.now()): string {
  return iso ? `${span(now - Date.parse(iso))} ago` : '—';
}

/** How long until an instant: "in 12 s", or "12 s ago" once past. */
export function until(iso: string, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  return ms >= 0 ? `in ${span(ms)}` : `${span(ms)} ago`;
}

/** JSON text pretty-printed (as it came when it is not JSON). */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
