import type { Api } from './api';
import { card, h, message, num, safeHref } from './dom';
import { count, dateTime, duration, STATE_LABEL } from './format';
import type { GadgetConfig } from './types';

export async function renderAtRisk(api: Api, cfg: GadgetConfig): Promise<HTMLElement> {
  const data = await api.atRisk(cfg);
  const body = h('div', { class: 'gadget-body' });
  const root = card('At risk now', 'at-risk', body);
  body.append(h('div', { class: 'summary' }, num('count', data.count, count(data.count)), ' open requests at risk or breached', cfg.team ? h('span', { class: 'muted' }, ` · provider ${cfg.team}`) : null));
  if (!data.requests.length) {
    body.append(message('Nothing is at risk right now.'));
    return root;
  }
  body.append(
    h(
      'ul',
      { class: 'risk-list' },
      ...data.requests.map((r) => {
        const href = safeHref(r.issue_url);
        return h(
          'li',
          { class: `risk state-${r.state}`, 'data-issue': r.issue },
          h(
            'div',
            { class: 'risk-main' },
            href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'issue-key' }, r.issue) : h('span', { class: 'issue-key' }, r.issue),
            h('span', { class: `state state-${r.state}` }, STATE_LABEL[r.state] ?? r.state),
          ),
          h(
            'div',
            { class: 'risk-meta' },
            h('span', {}, 'Provider ', h('strong', { 'data-field': 'provider' }, r.provider)),
            r.requester ? h('span', { class: 'muted' }, ` from ${r.requester}`) : null,
          ),
          h(
            'div',
            { class: 'risk-meta' },
            h('span', {}, 'Due ', h('time', { 'data-field': 'due_at', 'data-value': JSON.stringify(r.due_at), datetime: r.due_at ?? '' }, dateTime(r.due_at))),
            h(
              'span',
              { class: 'muted' },
              ' · ',
              num('remaining_s', r.remaining_s, r.remaining_s !== null && r.remaining_s < 0 ? `${duration(-r.remaining_s)} over` : `${duration(r.remaining_s)} left`),
              ' working time',
            ),
          ),
        );
      }),
    ),
  );
  return root;
}
