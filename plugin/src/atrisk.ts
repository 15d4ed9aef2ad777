// At risk now: open requests at risk or breached, grouped by provider with counts. The chips filter
// the list (one provider, or one state); due times are in the scoring time zone, labelled.
import type { Api } from './api';
import { card, h, message, num, safeHref } from './dom';
import { type Context, footer, info, timeIn } from './explain';
import { count, duration, STATE_LABEL } from './format';
import type { GadgetConfig, RequestRow } from './types';

const ALL = '';

export async function renderAtRisk(api: Api, cfg: GadgetConfig): Promise<HTMLElement> {
  const [teams, data] = await Promise.all([api.teams(), api.atRisk(cfg)]);
  const body = h('div', { class: 'gadget-body' });
  const root = card('At risk now', 'at-risk', body);
  const period = 'Open requests now';
  const ctx: Context = { teams, period, provider: cfg.team, process: cfg.process };
  body.append(
    h(
      'div',
      { class: 'summary' },
      num('count', data.count, count(data.count)),
      ' open requests at risk or breached',
      cfg.team ? h('span', { class: 'muted' }, ` · provider ${cfg.team}`) : null,
    ),
  );
  if (!data.requests.length) {
    body.append(message('Nothing is at risk right now.'), footer(period, data.as_of, data.timezone));
    return root;
  }
  const groups = new Map<string, RequestRow[]>();
  for (const r of data.requests) groups.set(r.provider, [...(groups.get(r.provider) ?? []), r]);
  const providers = [...groups.keys()].sort((a, b) => (groups.get(b)?.length ?? 0) - (groups.get(a)?.length ?? 0) || a.localeCompare(b));
  const states = ['breached', 'at_risk'].filter((s) => data.requests.some((r) => r.state === s));

  let provider = ALL;
  let state = ALL;
  const sections = new Map<string, HTMLElement>();
  const chips: HTMLElement[] = [];
  const apply = () => {
    for (const chip of chips) {
      const on = chip.dataset.kind === 'provider' ? chip.dataset.value === provider : chip.dataset.value === state;
      chip.setAttribute('aria-pressed', String(on));
    }
    let shown = 0;
    for (const [p, section] of sections) {
      let visible = 0;
      for (const li of section.querySelectorAll<HTMLElement>('li.risk')) {
        const show = (provider === ALL || p === provider) && (state === ALL || li.dataset.state === state);
        li.hidden = !show;
        visible += show ? 1 : 0;
      }
      section.hidden = visible === 0;
      shown += visible;
    }
    status.textContent = `${shown} shown`;
  };
  const chip = (kind: 'provider' | 'state', value: string, label: string, n: number) => {
    const b = h('button', { type: 'button', class: `chip chip-filter${kind === 'state' && value ? ` chip-${value}` : ''}`, 'data-kind': kind, 'data-value': value, 'aria-pressed': 'false' }, label, ' ', h('span', { class: 'num' }, String(n)));
    b.addEventListener('click', () => {
      if (kind === 'provider') provider = value;
      else state = state === value ? ALL : value;
      apply();
    });
    chips.push(b);
    return b;
  };
  const status = h('span', { class: 'sr-only', role: 'status' });
  const filters = h(
    'div',
    { class: 'filters' },
    h(
      'div',
      { class: 'chips', role: 'group', 'aria-label': 'Filter by provider' },
      chip('provider', ALL, 'All', data.requests.length),
      ...providers.map((p) => chip('provider', p, p, groups.get(p)?.length ?? 0)),
    ),
    h(
      'div',
      { class: 'chips', role: 'group', 'aria-label': 'Filter by state' },
      ...states.map((s) => chip('state', s, STATE_LABEL[s] ?? s, data.requests.filter((r) => r.state === s).length)),
      info('open_at_risk', ctx, 'At risk'),
      info('open_breached', ctx, 'Breached'),
    ),
    status,
  );

  const item = (r: RequestRow) => {
    const href = safeHref(r.issue_url);
    return h(
      'li',
      { class: `risk state-${r.state}`, 'data-issue': r.issue, 'data-state': r.state },
      h(
        'div',
        { class: 'risk-main' },
        href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'issue-key' }, r.issue) : h('span', { class: 'issue-key' }, r.issue),
        h('span', { class: `state state-${r.state}` }, STATE_LABEL[r.state] ?? r.state),
      ),
      h('div', { class: 'risk-meta' }, h('span', {}, 'Provider ', h('strong', { 'data-field': 'provider' }, r.provider)), r.requester ? h('span', { class: 'muted' }, ` from ${r.requester}`) : null),
      h(
        'div',
        { class: 'risk-meta' },
        h('span', {}, 'Due ', h('time', { 'data-field': 'due_at', 'data-value': JSON.stringify(r.due_at), datetime: r.due_at ?? '' }, timeIn(r.due_at, data.timezone))),
        h(
          'span',
          { class: 'muted' },
          ' · ',
          num('remaining_s', r.remaining_s, r.remaining_s !== null && r.remaining_s < 0 ? `${duration(-r.remaining_s)} over` : `${duration(r.remaining_s)} left`),
          ' working time',
        ),
      ),
    );
  };

  const list = h('div', { class: 'risk-groups' });
  for (const p of providers) {
    const rows = groups.get(p) ?? [];
    const breached = rows.filter((r) => r.state === 'breached').length;
    const headingId = `risk-${p.replace(/[^a-z0-9-]/gi, '_')}`;
    const section = h(
      'section',
      { class: 'risk-group', 'data-provider': p, 'aria-labelledby': headingId },
      h(
        'h3',
        { id: headingId, class: 'group-head' },
        p,
        ' ',
        h('span', { class: 'muted small' }, num('group-count', rows.length, count(rows.length)), ` open · ${breached} breached · ${rows.length - breached} at risk`),
      ),
      h('ul', { class: 'risk-list' }, ...rows.map(item)),
    );
    sections.set(p, section);
    list.append(section);
  }
  body.append(filters, list, footer(`${period} (due times in ${data.timezone})`, data.as_of, data.timezone));
  apply();
  return root;
}
