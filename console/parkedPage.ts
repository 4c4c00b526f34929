// Parked events per consumer queue, with payload, error and attempts; replay or drop each one
// (confirmed), refreshed live.
import { ApiError, seg, type ParkedEvent, type ParkedQueue } from './api.js';
import { confirmAction } from './confirm.js';
import { fill, h } from './dom.js';
import { prettyJson } from './format.js';
import { live } from './live.js';
import type { Page } from './page.js';

export const parkedPage: Page = (ctx) => {
  const body = h('div', { id: 'parked' });
  fill(
    ctx.root,
    h('h2', {}, 'Parked events'),
    h(
      'p',
      { class: 'muted' },
      'Events a consumer kept failing on after every retry. Replay moves one back to its queue (attempts reset) once the cause is fixed; drop removes it for good.',
    ),
    body,
  );

  const act = async (verb: 'replay' | 'drop', queue: string, e: ParkedEvent) => {
    const what =
      verb === 'replay'
        ? `Its consumer gets it again; a consumer ignores an event it already handled.`
        : 'It is deleted from the broker: its consumer never sees it again.';
    if (
      !(await confirmAction(
        `${verb === 'replay' ? 'Replay' : 'Drop'} ${e.type}`,
        `Event ${e.eventId} in ${queue}.`,
        what,
      ))
    )
      return;
    try {
      const answer = await ctx.api.post<{ replayed?: number; dropped?: number }>(
        `/admin/parked-events/${seg(queue)}/${verb}`,
        { eventIds: [e.eventId] },
      );
      ctx.notify(
        verb === 'replay'
          ? `Replayed ${answer.replayed ?? 0} event(s) to ${queue}.`
          : `Dropped ${answer.dropped ?? 0} event(s) from ${queue}.`,
        'ok',
      );
    } catch (err) {
      ctx.notify(
        `${verb} refused: ${(err as Error).message}${err instanceof ApiError ? ` (${err.reason})` : ''}`,
        'error',
      );
    }
    await feed.now();
  };

  const draw = (queues: ParkedQueue[]) =>
    fill(
      body,
      queues.map((q) =>
        h(
          'section',
          { class: 'queue', 'data-queue': q.queue },
          h(
            'h3',
            {},
            q.queue,
            ' ',
            h(
              'span',
              { class: `badge ${q.count ? 'tone-failed' : 'tone-ok'}` },
              `${q.count} parked`,
            ),
          ),
          q.count === 0
            ? h('p', { class: 'muted' }, 'Nothing parked.')
            : h(
                'table',
                { class: 'list' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ['event', 'type', 'attempts', 'last error', 'payload', ''].map((c) =>
                      h('th', {}, c),
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  q.events.map((e) =>
                    h(
                      'tr',
                      { 'data-event': e.eventId },
                      h('td', { class: 'id' }, e.eventId),
                      h('td', {}, e.type),
                      h('td', { class: 'num' }, e.attempts),
                      h('td', { class: 'error-text', title: e.lastError }, e.lastError),
                      h(
                        'td',
                        {},
                        h(
                          'details',
                          {},
                          h('summary', {}, 'payload'),
                          h('pre', {}, prettyJson(e.payload)),
                        ),
                      ),
                      h(
                        'td',
                        { class: 'row-actions' },
                        h(
                          'button',
                          { class: 'replay', onclick: () => void act('replay', q.queue, e) },
                          'Replay',
                        ),
                        h(
                          'button',
                          { class: 'drop danger', onclick: () => void act('drop', q.queue, e) },
                          'Drop',
                        ),
                      ),
                    ),
                  ),
                ),
              ),
        ),
      ),
    );

  const feed = live(async () => {
    try {
      draw((await ctx.api.get<{ queues: ParkedQueue[] }>('/admin/parked-events')).queues);
    } catch (err) {
      ctx.notify(`Parked events: ${(err as Error).message}`, 'error');
    }
  }, 3000);
  void feed.now();
  return () => feed.stop();
};
