import type { Api } from './api';
import { card, h, message, num, safeHref } from './dom';
import { count, dateTime, pct, STATE_LABEL } from './format';
import type { GadgetConfig, MatrixCell } from './types';

/** 0 (bad) .. 1 (good) -> a heat class; null -> no data. */
function heat(v: number | null, invert = false): string {
  if (v === null || v === undefined) return 'heat-none';
  const good = invert ? 1 - v : v;
  if (good >= 0.9) return 'heat-4';
  if (good >= 0.75) return 'heat-3';
  if (good >= 0.5) return 'heat-2';
  return 'heat-1';
}

export async function renderMatrix(api: Api, cfg: GadgetConfig): Promise<HTMLElement> {
  const data = await api.matrix(cfg);
  const detail = h('div', { class: 'detail', 'data-field': 'pair-detail' });
  const body = h('div', { class: 'gadget-body' });
  const root = card('Hand-off matrix', 'matrix', body);
  if (!data.cells.length) {
    body.append(message('No hand-offs between teams yet.'));
    return root;
  }
  const cellOf = new Map<string, MatrixCell>(data.cells.map((c) => [`${c.requester}\u0000${c.provider}`, c]));

  const showPair = async (c: MatrixCell) => {
    detail.replaceChildren(message(`Loading ${c.requester} → ${c.provider}…`));
    try {
      const reqs = await api.pairRequests(c.requester, c.provider, cfg);
      const first = reqs.requests.find((r) => r.issue_url);
      const base = first?.issue_url ? first.issue_url.slice(0, first.issue_url.lastIndexOf('/browse/')) : null;
      const keys = [...new Set(reqs.requests.map((r) => r.issue))];
      const jql = base && keys.length ? safeHref(`${base}/issues/?jql=${encodeURIComponent(`key in (${keys.join(',')}) ORDER BY updated DESC`)}`) : null;
      detail.replaceChildren(
        h('h3', {}, `${c.requester} → ${c.provider}: `, num('pair-count', reqs.count, count(reqs.count)), ' requests'),
        ...(jql ? [h('a', { href: jql, target: '_blank', rel: 'noopener noreferrer', class: 'jql-link' }, `Open these ${keys.length} issues in Jira`)] : []),
        h(
          'ul',
          { class: 'issue-list' },
          ...reqs.requests.map((r) => {
            const href = safeHref(r.issue_url);
            return h(
              'li',
              {},
              href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, r.issue) : h('span', {}, r.issue),
              h('span', { class: `state state-${r.state}` }, STATE_LABEL[r.state] ?? r.state),
              h('span', { class: 'muted' }, r.resolved_at ? `resolved ${dateTime(r.resolved_at)}` : 'open'),
            );
          }),
        ),
      );
    } catch (e) {
      detail.replaceChildren(message(String((e as Error).message), 'error'));
    }
  };

  const table = h(
    'table',
    { class: 'matrix' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col', class: 'corner' }, 'Requester ↓ / Provider →'), ...data.providers.map((p) => h('th', { scope: 'col' }, p))),
    ),
    h(
      'tbody',
      {},
      ...data.requesters.map((rq) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, rq),
          ...data.providers.map((pv) => {
            const c = cellOf.get(`${rq}\u0000${pv}`);
            if (!c) return h('td', { class: 'heat-empty' }, '');
            return h(
              'td',
              { class: `cell ${heat(c.timeliness)}`, 'data-requester': rq, 'data-provider': pv },
              h(
                'button',
                { type: 'button', class: 'cell-btn', title: `${rq} → ${pv}: show the issues`, onclick: () => void showPair(c) },
                h('span', { class: 'cell-main' }, num('timeliness', c.timeliness, pct(c.timeliness))),
                h('span', { class: `cell-sub ${heat(c.rejection_rate, true)}-text` }, '↩ ', num('rejection_rate', c.rejection_rate, pct(c.rejection_rate))),
                h('span', { class: 'cell-n muted' }, 'n=', num('requests', c.requests, count(c.requests))),
              ),
            );
          }),
        ),
      ),
    ),
  );
  body.append(
    h('div', { class: 'legend muted' }, 'Cell: resolution timeliness; ↩ rejection rate; n = requests. Click a cell for its issues.'),
    h('div', { class: 'table-wrap' }, table),
    detail,
  );
  return root;
}
