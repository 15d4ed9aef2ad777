import type { Api } from './api';
import { card, h, message, num } from './dom';
import { footer, info } from './explain';
import { count, DASH, duration, STATE_LABEL } from './format';
import type { GadgetConfig } from './types';

export async function renderUnmapped(api: Api, cfg: GadgetConfig): Promise<HTMLElement> {
  const [teams, data] = await Promise.all([api.teams(), api.unmapped(cfg)]);
  const body = h('div', { class: 'gadget-body' });
  const root = card('Unmapped hand-offs', 'unmapped', body);
  const period = 'All time';
  if (!data.rows.length) {
    body.append(message('Every hand-off seen so far is configured.'), footer(period, data.as_of, data.timezone));
    return root;
  }
  body.append(
    h('div', { class: 'legend muted' }, 'Team and status pairs seen in Jira but not configured as hand-offs.', info('unmapped', { teams, period, process: cfg.process })),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'plain' },
        h('thead', {}, h('tr', {}, h('th', {}, 'From'), h('th', {}, 'To'), h('th', { class: 'r' }, 'Count'))),
        h(
          'tbody',
          {},
          ...data.rows.map((r) =>
            h(
              'tr',
              { 'data-from': r.requester ?? '', 'data-to': r.provider ?? '' },
              h('td', {}, h('strong', {}, r.requester ?? DASH), h('div', { class: 'muted small' }, r.from_status ?? DASH)),
              h('td', {}, h('strong', {}, r.provider ?? DASH), h('div', { class: 'muted small' }, r.to_status ?? DASH)),
              h('td', { class: 'r' }, num('count', r.count, count(r.count)), r.examples.length ? h('div', { class: 'muted small' }, r.examples.slice(0, 3).join(', ')) : null),
            ),
          ),
        ),
      ),
    ),
    footer(period, data.as_of, data.timezone),
  );
  return root;
}

export async function renderGlance(api: Api, issue: string): Promise<HTMLElement> {
  const data = await api.issueRequests(issue);
  const open = data.requests.find((r) => !r.resolved_at) ?? null;
  const body = h('div', { class: 'gadget-body' });
  const root = card('SLA clock', 'glance', body);
  if (!open) body.append(message('No open hand-off on this issue.'));
  else body.append(h('p', {}, `${open.provider}: `, h('span', { class: `state state-${open.state}` }, STATE_LABEL[open.state] ?? open.state), ' · ', num('remaining_s', open.remaining_s, duration(open.remaining_s)), ' left'));
  return root;
}
