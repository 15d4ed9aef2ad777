// The team overview: every provider team, worst first, for one process and period (/api/v1/overview,
// the numbers of `baton score --rank`). Small samples are greyed; clicking a team opens its scorecard
// below the table (Esc closes it and gives the focus back to the team).
import type { Api } from './api';
import { scorePeriod } from './api';
import { card, h, message, num } from './dom';
import { type Context, footer, info, periodText } from './explain';
import { count, DASH, pct, score } from './format';
import { configControls, renderScorecard } from './scorecard';
import type { GadgetConfig, OverviewRow } from './types';

function change(v: number | null): string {
  if (v === null) return DASH;
  return v > 0 ? `▲ ${v.toFixed(1)}` : v < 0 ? `▼ ${Math.abs(v).toFixed(1)}` : '= 0.0';
}

export async function renderOverview(api: Api, cfg: GadgetConfig, onConfig?: (c: GadgetConfig) => void): Promise<HTMLElement> {
  const [teams, data] = await Promise.all([api.teams(), api.overview(cfg)]);
  const body = h('div', { class: 'gadget-body' });
  const root = card('Team overview', 'overview', body);
  if (onConfig) body.append(configControls(teams, { ...cfg, period: scorePeriod(cfg) }, onConfig, 'none'));
  const ctx: Context = { teams, period: periodText(data.window, data.timezone), process: data.process, previous: data.previous_period };
  if (!data.teams.length) {
    body.append(message('No provider teams are configured for this process.'), footer(ctx.period, data.as_of, data.timezone));
    return root;
  }
  const detail = h('div', { class: 'detail', 'data-field': 'team-detail', role: 'region', 'aria-label': 'Team scorecard' });
  let opener: HTMLElement | null = null;
  const close = () => {
    if (!detail.childElementCount) return;
    detail.replaceChildren();
    opener?.setAttribute('aria-expanded', 'false');
    opener?.focus();
  };
  const open = async (row: OverviewRow, button: HTMLElement) => {
    opener?.setAttribute('aria-expanded', 'false');
    opener = button;
    button.setAttribute('aria-expanded', 'true');
    detail.replaceChildren(message(`Loading ${row.team}…`));
    const sc = await renderScorecard(api, { ...cfg, team: row.team, period: scorePeriod(cfg) }, { controls: false });
    const heading = h('h3', { tabindex: '-1' }, `${row.team}: scorecard`);
    detail.replaceChildren(
      h('div', { class: 'detail-head' }, heading, h('button', { type: 'button', class: 'close', 'aria-label': 'Close the scorecard', onclick: close }, '×')),
      sc,
    );
    heading.focus();
  };
  root.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Escape' && detail.childElementCount) {
      e.preventDefault();
      close();
    }
  });

  const head = (label: string, key: string | null, cls = '') =>
    h('th', { scope: 'col', class: cls }, h('span', { class: 'th-label' }, label), key ? info(key, ctx) : null);
  const table = h(
    'table',
    { class: 'overview', 'aria-label': `Teams worst first, ${data.window.label}` },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', class: 'team-col' }, 'Team'),
        head('Score', 'score', 'r'),
        head('Δ', 'score_change', 'r'),
        head('Time.', 'timeliness', 'r'),
        head('Resp.', 'response_timeliness', 'r'),
        head('Qual.', 'quality', 'r'),
        head('Req.', 'resolved', 'r'),
      ),
    ),
    h(
      'tbody',
      {},
      ...data.teams.map((r) => {
        const button = h(
          'button',
          { type: 'button', class: 'team-btn', 'aria-expanded': 'false' },
          h('span', { class: 'rank' }, `${r.rank}.`),
          ' ',
          r.team,
          h('span', { class: 'sr-only' }, `${r.small_sample ? ', small sample' : ''}: open its scorecard`),
        );
        button.addEventListener('click', () => void open(r, button));
        const trend = r.score_change === null ? 'none' : r.score_change > 0 ? 'up' : r.score_change < 0 ? 'down' : 'flat';
        return h(
          'tr',
          { class: r.small_sample ? 'small-sample' : '', 'data-team': r.team, 'data-rank': r.rank, 'data-small-sample': String(r.small_sample) },
          h('th', { scope: 'row', class: 'team-col' }, button, r.small_sample ? h('span', { class: 'badge' }, 'small sample') : null),
          h('td', { class: 'r strong' }, num('score', r.score, score(r.score))),
          h('td', { class: `r trend-${trend}` }, num('score_change', r.score_change, change(r.score_change))),
          h('td', { class: 'r' }, num('timeliness', r.timeliness, pct(r.timeliness))),
          h('td', { class: 'r' }, num('response_timeliness', r.response_timeliness, pct(r.response_timeliness))),
          h('td', { class: 'r' }, num('quality', r.quality, pct(r.quality))),
          h('td', { class: 'r' }, num('resolved', r.resolved, count(r.resolved))),
        );
      }),
    ),
  );
  body.append(
    h('div', { class: 'table-wrap sticky-wrap' }, table),
    h(
      'p',
      { class: 'legend muted' },
      `Worst first. Δ: against ${data.previous_period}. Req.: requests resolved in the period; teams with fewer than ${data.small_sample} are a small sample (greyed, ranked last). Click a team for its scorecard.`,
    ),
    detail,
    footer(ctx.period, data.as_of, data.timezone),
  );
  return root;
}
