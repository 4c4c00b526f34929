// The seat map of one concert date, live: each seat's status, and for a held seat its holder
// and the time left on its hold (the concert service knows the seats, the reservation service
// the holds: the page asks both).
import { ApiError, seg, type Hold, type SeatMap } from './api.js';
import { fill, h } from './dom.js';
import { span } from './format.js';
import { go, type Page } from './page.js';

export const seatMapPage: Page = (ctx) => {
  const concertId = ctx.query.get('concert') ?? '';
  const date = ctx.query.get('date') ?? '';
  const picker = h('form', { class: 'filters', id: 'seat-picker' });
  const grid = h('div', { id: 'seat-map' });
  const legend = h('p', { class: 'legend' });
  fill(ctx.root, h('h2', {}, 'Seat map'), picker, legend, grid);
  let map: SeatMap | undefined;
  let holds = new Map<number, Hold>();

  const choose = (concert: string, day = '') =>
    go(`seats?${new URLSearchParams({ concert, ...(day ? { date: day } : {}) }).toString()}`);

  const drawPicker = (concerts: { concertId: string; title: string }[]) => {
    const concertSelect = h(
      'select',
      { id: 'concert', onchange: () => choose(concertSelect.value) },
      h('option', { value: '' }, 'choose a concert'),
      concerts.map((c) =>
        h('option', { value: c.concertId, selected: c.concertId === concertId }, c.title),
      ),
    );
    const dateSelect = h(
      'select',
      { id: 'date', onchange: () => choose(concertId, dateSelect.value) },
      (map?.dates ?? []).map((d) => h('option', { value: d, selected: d === map?.date }, d)),
    );
    fill(picker, concertSelect, map ? dateSelect : null);
  };

  const draw = () => {
    if (!map) return;
    const now = Date.now();
    const count = (status: string) => map!.seats.filter((st) => st.status === status).length;
    fill(
      legend,
      h('span', { class: 'seat available' }, `${count('AVAILABLE')} available`),
      h('span', { class: 'seat held' }, `${count('HELD')} held`),
      h('span', { class: 'seat sold' }, `${count('SOLD')} sold`),
      h('span', { class: 'muted' }, ` ${map.title}, ${map.date} (schedule ${map.scheduleId})`),
    );
    fill(
      grid,
      map.seats.map((seat) => {
        const hold = holds.get(seat.seatNumber);
        const left = hold ? Date.parse(hold.expiresAt) - now : 0;
        const title = [
          `seat ${seat.seatNumber}: ${seat.status}`,
          seat.reservationId && `reservation ${seat.reservationId}`,
          hold && `held by ${hold.userId} (${hold.status}), expires ${hold.expiresAt}`,
        ]
          .filter(Boolean)
          .join('\n');
        return h(
          'div',
          {
            class: `seat ${seat.status.toLowerCase()}${hold?.status === 'PAYING' ? ' paying' : ''}`,
            title,
            'data-seat': seat.seatNumber,
            'data-status': seat.status,
          },
          h('strong', {}, seat.seatNumber),
          hold
            ? h(
                'small',
                { class: 'expiry' },
                hold.status === 'PAYING' ? 'paying' : left > 0 ? span(left) : 'expiring',
              )
            : null,
          hold ? h('small', {}, hold.userId) : null,
        );
      }),
    );
  };

  const refresh = async () => {
    if (!concertId) return;
    try {
      map = await ctx.api.get<SeatMap>(`/admin/concerts/${seg(concertId)}/seat-map`, { date });
      const answer = await ctx.api.get<{ holds: Hold[] }>(
        `/admin/schedules/${seg(map.scheduleId)}/holds`,
      );
      holds = new Map(answer.holds.map((x) => [x.seatNumber, x]));
      draw();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404)
        fill(grid, h('p', { class: 'notice error' }, err.message));
      else ctx.notify(`Seat map: ${(err as Error).message}`, 'error');
    }
  };

  let stopped = false;
  void (async () => {
    try {
      const { concerts } = await ctx.api.get<{ concerts: { concertId: string; title: string }[] }>(
        '/concerts',
      );
      await refresh();
      if (!stopped) drawPicker(concerts);
    } catch (err) {
      ctx.notify(`Concerts: ${(err as Error).message}`, 'error');
    }
  })();
  // Holds are polled every 2 s; the time left on each ticks every second in between.
  const poll = setInterval(() => void refresh(), 2000);
  const tick = setInterval(draw, 1000);
  return () => {
    stopped = true;
    clearInterval(poll);
    clearInterval(tick);
  };
};
