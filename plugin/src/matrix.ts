import type { Api } from './api';
import { card, h, message, num, safeHref } from './dom';
import { type Context, footer, info, periodText, timeIn } from './explain';
import { count, pct, STATE_LABEL } from './format';
import { configControls } from './scorecard';
import type { GadgetConfig, MatrixCell } from './types';

/** The heat classes and their cut-offs: the legend prints these, so it can never disagree. */
const HEAT_LEGEND: [string, string][] = [
  ['heat-4', '≥ 90 %'],
  ['heat-3', '75–90 %'],
  ['heat-2', '50–75 %'],
  ['heat-1', '< 50 %'],
  ['heat-none', 'no goal'],
];

/** 0 (bad) .. 1 (good) -> a heat class; null -> no data. */
function heat(v: number | null, invert = false): string {
  if (v === null || v === undefined) return 'heat-none';
  const good = invert ? 1 - v : v;
  if (good >= 0.9) return 'heat-4';
  if (good >= 0.75) return 'heat-3';
  if (good >= 0.5) return 'heat-2';
  return 'heat-1';
}

/** A cell's rejections in the period: the verdicts' reasons with their counts (most frequent first, as the
 * API orders them), then the returns, which have no reason; "No rejections" when there are none. */
function cellReasons(c: MatrixCell, ctx: Context): HTMLElement {
  const reasons = c.rejection_reasons ?? [];
  const returns = c.returns ?? 0;
  const rejected = c.rejected ?? returns + reasons.reduce((n, r) => n + r.count, 0);
  const box = h('div', { class: 'cell-reasons', 'data-section': 'cell-reasons' });
  if (!rejected) {
    box.append(h('p', { class: 'small', 'data-field': 'no-rejections' }, 'No rejections in ', ctx.period, '. ', info('matrix_reasons', ctx)));
    return box;
  }
  box.append(
    h('p', { class: 'small' }, 'Sent back in ', ctx.period, ': ', num('pair-rejected', rejected, count(rejected)), ' ', info('matrix_reasons', ctx)),
    h(
      'ul',
      { class: 'reason-list', 'aria-label': `Rejections of ${c.requester} → ${c.provider} by reason` },
      ...reasons.map((r) => h('li', { 'data-reason': r.reason }, h('span', { class: 'reason' }, r.reason), num('reason-count', r.count, count(r.count)))),
      h('li', { 'data-returns': '' }, h('span', { class: 'reason muted' }, 'returns (moved back, no reason)'), num('returns', returns, count(returns))),
    ),
  );
  return box;
}

export async function renderMatrix(api: Api, cfg: GadgetConfig, onConfig?: (c: GadgetConfig) => void): Promise<HTMLElement> {
  const [teams, data] = await Promise.all([api.teams(), api.matrix(cfg)]);
  const detail = h('div', { class: 'detail', 'data-field': 'pair-detail', role: 'region', 'aria-label': 'Issues of the chosen pair' });
  const body = h('div', { class: 'gadget-body' });
  const root = card('Hand-off matrix', 'matrix', body);
  const period = periodText(data.window, data.timezone);
  const ctx: Context = { teams, period, process: data.process };
  if (onConfig) body.append(configControls(teams, { ...cfg, period: data.period }, onConfig, 'none', true));
  if (!data.cells.length) {
    body.append(message('No hand-offs between teams in this period.'), footer(period, data.as_of, data.timezone));
    return root;
  }
  const cellOf = new Map<string, MatrixCell>(data.cells.map((c) => [`${c.requester}\u0000${c.provider}`, c]));
  let opener: HTMLElement | null = null;
  const close = () => {
    if (!detail.childElementCount) return;
    detail.replaceChildren();
    opener?.focus();
  };
  root.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape' && detail.childElementCount) {
      e.preventDefault();
      close();
    }
  });

  const showPair = async (c: MatrixCell, button: HTMLElement) => {
    opener = button;
    detail.replaceChildren(message(`Loading ${c.requester} → ${c.provider}…`));
    try {
      const reqs = await api.pairRequests(c.requester, c.provider, cfg);
      const first = reqs.requests.find((r) => r.issue_url);
      const base = first?.issue_url ? first.issue_url.slice(0, first.issue_url.lastIndexOf('/browse/')) : null;
      const keys = [...new Set(reqs.requests.map((r) => r.issue))];
      const jql = base && keys.length ? safeHref(`${base}/issues/?jql=${encodeURIComponent(`key in (${keys.join(',')}) ORDER BY updated DESC`)}`) : null;
      const heading = h('h3', { tabindex: '-1' }, `${c.requester} → ${c.provider}: `, num('pair-count', reqs.count, count(reqs.count)), ' requests (all time)');
      detail.replaceChildren(
        h('div', { class: 'detail-head' }, heading, h('button', { type: 'button', class: 'close', 'aria-label': 'Close the issue list', onclick: close }, '×')),
        cellReasons(c, ctx),
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
              h('span', { class: 'muted' }, r.resolved_at ? `resolved ${timeIn(r.resolved_at, data.timezone)}` : 'open'),
            );
          }),
        ),
      );
      heading.focus();
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
      h('tr', {}, h('th', { scope: 'col', class: 'corner' }, 'Requester ↓ / Provider →'), ...data.providers.map((p) => h('th', { scope: 'col', title: p }, p))),
    ),
    h(
      'tbody',
      {},
      ...data.requesters.map((rq) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row', title: rq }, rq),
          ...data.providers.map((pv) => {
            const c = cellOf.get(`${rq}\u0000${pv}`);
            if (!c) return h('td', { class: 'heat-empty' }, '');
            const button = h(
              'button',
              { type: 'button', class: 'cell-btn' },
              h('span', { class: 'sr-only' }, `${rq} to ${pv}, timeliness `),
              h('span', { class: 'cell-main' }, num('timeliness', c.timeliness, pct(c.timeliness))),
              h('span', { class: 'cell-sub' }, '↩ ', num('rejection_rate', c.rejection_rate, pct(c.rejection_rate))),
              h('span', { class: 'cell-n' }, num('resolved', c.resolved, count(c.resolved)), ' res. · ', num('open', c.open, count(c.open)), ' open'),
              h('span', { class: 'sr-only' }, ' of ', num('requests', c.requests, count(c.requests)), ' requests; show the issues'),
            );
            button.addEventListener('click', () => void showPair(c, button));
            return h('td', { class: `cell ${heat(c.timeliness)}`, 'data-requester': rq, 'data-provider': pv }, button);
          }),
        ),
      ),
    ),
  );
  const legend = h(
    'div',
    { class: 'legend', 'data-field': 'heat-legend' },
    h(
      'div',
      { class: 'legend-row' },
      h('span', { class: 'muted' }, 'Timeliness'),
      info('matrix_timeliness', ctx),
      h('ul', { class: 'swatches', 'aria-label': 'Heat colours' }, ...HEAT_LEGEND.map(([cls, label]) => h('li', { class: `swatch ${cls}`, 'data-heat': cls }, label))),
    ),
    h(
      'div',
      { class: 'legend-row muted' },
      h('span', {}, '↩ rejection rate'),
      info('rejection_rate', ctx),
      h('span', {}, '· resolved in the period · open now'),
      info('requests', ctx),
    ),
    h('p', { class: 'muted small' }, 'Rows: requesters (intake: new work entering a team; done: work reopened after done). Columns: providers. Click a cell for its rejection reasons and its issues; Esc closes them.'),
  );
  body.append(legend, h('div', { class: 'table-wrap sticky-wrap', tabindex: '0', role: 'region', 'aria-label': 'Hand-off matrix, scrollable' }, table), detail, footer(period, data.as_of, data.timezone));
  return root;
}
