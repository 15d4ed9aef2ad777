import type { Api } from './api';
import { card, h, message, num } from './dom';
import { footer, info } from './explain';
import { count, DASH, duration, STATE_LABEL } from './format';
import type { GadgetConfig, UnmappedResponse, UnmatchedRow } from './types';

const REASON: Record<UnmatchedRow['reason'], string> = {
  no_project: 'no project in the data',
  project: 'no process lists the project',
  issue_type: "the project's processes do not list this type",
};

function unmatchedSection(data: UnmappedResponse): HTMLElement | null {
  const unmatched = data.unmatched_issues;
  if (!unmatched || !unmatched.total) return null;
  const noun = unmatched.total === 1 ? 'issue matches' : 'issues match';
  return h(
    'div',
    { class: 'unmatched', 'data-section': 'unmatched' },
    h('h3', { class: 'gadget-subtitle' }, 'Issues matching no process'),
    h('div', { class: 'legend muted' }, num('unmatched_total', unmatched.total, count(unmatched.total)), ` stored ${noun} no process: no request is derived from them.`),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'plain', 'data-report': 'unmatched' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Project / type'), h('th', { class: 'r' }, 'Issues'))),
        h(
          'tbody',
          {},
          ...unmatched.rows.map((r) =>
            h(
              'tr',
              { 'data-project': r.project ?? '', 'data-type': r.issue_type ?? '', 'data-reason': r.reason },
              h('td', {}, h('strong', {}, `${r.project ?? '(no project)'} / ${r.issue_type ?? '(no type)'}`), h('div', { class: 'muted small' }, REASON[r.reason] ?? r.reason)),
              h('td', { class: 'r' }, num('count', r.count, count(r.count)), r.examples.length ? h('div', { class: 'muted small' }, r.examples.slice(0, 3).join(', ')) : null),
            ),
          ),
        ),
      ),
    ),
  );
}

export async function renderUnmapped(api: Api, cfg: GadgetConfig): Promise<HTMLElement> {
  const [teams, data] = await Promise.all([api.teams(), api.unmapped(cfg)]);
  const body = h('div', { class: 'gadget-body' });
  const root = card('Unmapped hand-offs', 'unmapped', body);
  const period = 'All time';
  const unmatched = unmatchedSection(data);
  if (!data.rows.length) {
    body.append(message('Every hand-off seen so far is configured.'));
    if (unmatched) body.append(unmatched);
    body.append(footer(period, data.as_of, data.timezone));
    return root;
  }
  body.append(
    h('div', { class: 'legend muted' }, 'Team and status pairs seen in Jira but not configured as hand-offs.', info('unmapped', { teams, period, process: cfg.process })),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'plain', 'data-report': 'unmapped' },
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
    ...(unmatched ? [unmatched] : []),
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
  // Forge gives a glance no way to open another module, so the link is the panel's name and place.
  body.append(
    h(
      'p',
      { class: 'muted small', 'data-link': 'handoffs' },
      'The whole chain, and your team’s verdict on a delivery: open the ',
      h('strong', {}, 'Hand-offs'),
      ' panel (the Baton button under the issue’s summary).',
    ),
  );
  return root;
}
