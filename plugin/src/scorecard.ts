import {
  CategoryScale,
  Chart,
  Filler,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';
import type { Api } from './api';
import { scorePeriod } from './api';
import { card, h, message, num } from './dom';
import { type Context, footer, info, periodText } from './explain';
import { count, pct, score } from './format';
import { cssVar } from './theme';
import type { GadgetConfig, ReasonCount, ScoreRow, TeamsResponse, TeamScorecard } from './types';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Filler);

const charts = new Set<Chart>();

export function redrawCharts(): void {
  for (const c of charts) {
    applyChartTheme(c);
    c.update('none');
  }
}

function applyChartTheme(c: Chart): void {
  const fg = cssVar('--muted') || '#6b778c';
  const grid = cssVar('--grid') || '#dfe1e6';
  const accent = cssVar('--accent') || '#0c66e4';
  const ds = c.data.datasets[0];
  if (ds) {
    (ds as { borderColor?: string }).borderColor = accent;
    (ds as { pointBackgroundColor?: string }).pointBackgroundColor = accent;
    (ds as { backgroundColor?: string }).backgroundColor = cssVar('--accent-soft') || 'rgba(12,102,228,.12)';
  }
  for (const axis of ['x', 'y'] as const) {
    const scale = c.options.scales?.[axis];
    if (scale) {
      scale.ticks = { ...(scale.ticks ?? {}), color: fg };
      scale.grid = { ...(scale.grid ?? {}), color: grid };
    }
  }
}

function kpi(label: string, field: string, raw: number | null | undefined, text: string, ctx: Context): HTMLElement {
  return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, h('span', {}, label), info(field, ctx)), num(field, raw ?? null, text, 'kpi-value'));
}

function trendChart(trend: ScoreRow[], periods: string[]): HTMLElement {
  const byPeriod = new Map(trend.map((r) => [r.period, r]));
  const values = periods.map((p) => byPeriod.get(p)?.score ?? null);
  const canvas = h('canvas', { role: 'img', 'aria-label': 'Score trend' }) as HTMLCanvasElement;
  const wrap = h('div', { class: 'chart' }, canvas);
  const list = h(
    'ol',
    { class: 'sr-only', 'data-field': 'trend' },
    ...periods.map((p, i) => h('li', { 'data-period': p }, `${p}: `, num('trend-score', values[i], score(values[i])))),
  );
  // Chart.js needs the canvas in the document to size itself.
  queueMicrotask(() => {
    const chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: periods.map((p) => p.replace(/^\d{4}-/, '')),
        datasets: [{ label: 'Score', data: values, spanGaps: true, fill: true, tension: 0.25, pointRadius: 2, borderWidth: 2 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `Score ${score(c.parsed.y)}` } } },
        scales: {
          y: { min: 0, max: 100, ticks: { stepSize: 25 } },
          x: { ticks: { autoSkip: true, maxRotation: 0 } },
        },
      },
    });
    applyChartTheme(chart);
    chart.update('none');
    charts.add(chart);
  });
  return h('div', { class: 'trend' }, h('div', { class: 'kpi-label' }, `Score, last ${periods.length} ${periods[0]?.includes('W') ? 'weeks' : 'months'}`), wrap, list);
}

function teamBlock(sc: TeamScorecard, periods: string[], currentPeriod: string, ctx: Context): HTMLElement {
  const c = sc.current;
  return h(
    'div',
    { class: 'team-card', 'data-team': sc.team },
    h(
      'div',
      { class: 'score-head' },
      h('div', { class: 'score-big' }, num('score', c?.score ?? null, score(c?.score)), h('span', { class: 'score-unit' }, '/ 100'), info('score', ctx)),
      h('div', { class: 'score-meta' }, h('strong', {}, sc.team), h('span', { class: 'muted' }, ` · ${c?.period ?? currentPeriod}`)),
    ),
    h(
      'div',
      { class: 'kpis' },
      kpi('Timeliness', 'timeliness', c?.timeliness, pct(c?.timeliness), ctx),
      kpi('Response', 'response_timeliness', c?.response_timeliness, pct(c?.response_timeliness), ctx),
      kpi('Quality', 'quality', c?.quality, pct(c?.quality), ctx),
      // satisfaction only when the PMO weights it (scoring.weights.satisfaction)
      weighted(ctx) ? kpi('Satisfaction', 'satisfaction', c?.satisfaction, pct(c?.satisfaction), ctx) : null,
    ),
    h(
      'div',
      { class: 'counts' },
      h(
        'div',
        { class: 'chips', role: 'group', 'aria-label': `Resolved in ${currentPeriod}` },
        h('span', { class: 'chips-label muted' }, `Resolved in ${currentPeriod}`),
        h('span', { class: 'chip' }, num('resolved', c?.resolved ?? 0, count(c?.resolved ?? 0)), ' resolved'),
        info('resolved', ctx),
      ),
      h(
        'div',
        { class: 'chips', role: 'group', 'aria-label': 'Open now' },
        h('span', { class: 'chips-label muted' }, 'Open now'),
        h('span', { class: 'chip chip-risk' }, num('open_at_risk', c?.open_at_risk ?? 0, count(c?.open_at_risk ?? 0)), ' at risk'),
        info('open_at_risk', ctx),
        h('span', { class: 'chip chip-breach' }, num('open_breached', c?.open_breached ?? 0, count(c?.open_breached ?? 0)), ' breached'),
        info('open_breached', ctx),
      ),
    ),
    reasonList(sc.reasons ?? [], periods, ctx),
    trendChart(sc.trend, periods),
  );
}

function weighted(ctx: Context): boolean {
  const w = ctx.teams.weights.satisfaction;
  return w !== null && w !== undefined;
}

const TOP_REASONS = 3;

/** The top rejection reasons (by verdict) of the periods shown; nothing when none was given. */
function reasonList(reasons: ReasonCount[], periods: string[], ctx: Context): HTMLElement | null {
  if (!reasons.length) return null;
  const span = `last ${periods.length} ${periods[0]?.includes('W') ? 'weeks' : 'months'}`;
  return h(
    'div',
    { class: 'chips', role: 'group', 'aria-label': `Top rejection reasons, ${span}`, 'data-section': 'reasons' },
    h('span', { class: 'chips-label muted' }, `Sent back for (${span})`),
    ...reasons.slice(0, TOP_REASONS).map((r) => h('span', { class: 'chip', 'data-reason': r.reason }, `${r.reason} `, num('count', r.count, count(r.count)))),
    info('reasons', ctx),
  );
}

export function configControls(
  teams: TeamsResponse,
  cfg: GadgetConfig,
  onChange: (cfg: GadgetConfig) => void,
  team: 'required' | 'optional' | 'worst' | 'none' = 'required',
  withAll = false,
): HTMLElement {
  let current: GadgetConfig = { ...cfg }; // several selects change one configuration
  const select = (name: keyof GadgetConfig, label: string, options: string[], value: string | undefined, any: string | null) =>
    h(
      'label',
      { class: 'control' },
      h('span', {}, label),
      h(
        'select',
        {
          name,
          onchange: (e: Event) => {
            current = { ...current, [name]: (e.target as HTMLSelectElement).value || undefined };
            onChange(current);
          },
        },
        ...(any !== null ? [h('option', { value: '' }, any)] : []),
        ...options.map((o) => h('option', { value: o, selected: o === value }, o)),
      ),
    );
  return h(
    'div',
    { class: 'controls' },
    team === 'none' ? null : select('team', 'Team', teams.teams, cfg.team, team === 'optional' ? 'All teams' : team === 'worst' ? 'Worst team' : null),
    select('process', 'Process', teams.processes, cfg.process, 'All processes'),
    select('period', 'Period', ['week', 'month', ...(withAll ? ['all'] : [])], cfg.period ?? 'week', null),
  );
}

export async function renderScorecard(
  api: Api,
  cfg: GadgetConfig,
  opts: { controls: boolean; onConfig?: (c: GadgetConfig) => void },
): Promise<HTMLElement> {
  const teams = await api.teams();
  const period = scorePeriod(cfg);
  // no team chosen: the worst team of the overview (its first row), not the first in the configuration
  const worst = cfg.team ? null : ((await api.overview({ ...cfg, period })).teams[0]?.team ?? teams.teams[0]);
  const effective: GadgetConfig = { ...cfg, period, team: cfg.team ?? worst ?? undefined };
  const body = h('div', { class: 'gadget-body' });
  const root = card('Team scorecard', 'scorecard', body);
  if (opts.controls && opts.onConfig) body.append(configControls(teams, { ...cfg, period }, opts.onConfig, 'worst'));
  if (!effective.team) {
    body.append(message('No teams are configured yet.'));
    return root;
  }
  const data = await api.scorecards(effective);
  const sc = data.scorecards.find((s) => s.team === effective.team) ?? { team: effective.team, current: null, trend: [] };
  const ctx: Context = { teams, period: periodText(data.window, data.timezone), provider: effective.team, process: data.process };
  if (worst) body.append(h('p', { class: 'note muted small', 'data-field': 'worst-team', 'data-value': JSON.stringify(worst) }, `No team chosen: showing the worst team of ${data.current_period}, ${worst}.`));
  body.append(teamBlock(sc, data.periods, data.current_period, ctx), footer(ctx.period, data.as_of, data.timezone));
  return root;
}
