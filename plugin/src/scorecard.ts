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
import { card, h, message, num } from './dom';
import { count, pct, score } from './format';
import { cssVar } from './theme';
import type { GadgetConfig, ScoreRow, TeamsResponse, TeamScorecard } from './types';

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

function kpi(label: string, field: string, raw: number | null | undefined, text: string): HTMLElement {
  return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, label), num(field, raw ?? null, text, 'kpi-value'));
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

function teamBlock(sc: TeamScorecard, periods: string[], currentPeriod: string): HTMLElement {
  const c = sc.current;
  return h(
    'div',
    { class: 'team-card', 'data-team': sc.team },
    h(
      'div',
      { class: 'score-head' },
      h('div', { class: 'score-big' }, num('score', c?.score ?? null, score(c?.score)), h('span', { class: 'score-unit' }, '/ 100')),
      h('div', { class: 'score-meta' }, h('strong', {}, sc.team), h('span', { class: 'muted' }, ` · ${c?.period ?? currentPeriod}`)),
    ),
    h(
      'div',
      { class: 'kpis' },
      kpi('Timeliness', 'timeliness', c?.timeliness, pct(c?.timeliness)),
      kpi('Response', 'response_timeliness', c?.response_timeliness, pct(c?.response_timeliness)),
      kpi('Quality', 'quality', c?.quality, pct(c?.quality)),
    ),
    h(
      'div',
      { class: 'chips' },
      h('span', { class: 'chip chip-risk' }, num('open_at_risk', c?.open_at_risk ?? 0, count(c?.open_at_risk ?? 0)), ' at risk'),
      h('span', { class: 'chip chip-breach' }, num('open_breached', c?.open_breached ?? 0, count(c?.open_breached ?? 0)), ' breached'),
      h('span', { class: 'chip' }, num('resolved', c?.resolved ?? 0, count(c?.resolved ?? 0)), ' resolved'),
    ),
    trendChart(sc.trend, periods),
  );
}

export function configControls(
  teams: TeamsResponse,
  cfg: GadgetConfig,
  onChange: (cfg: GadgetConfig) => void,
  team: 'required' | 'optional' | 'none' = 'required',
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
    team === 'none' ? null : select('team', 'Team', teams.teams, cfg.team, team === 'optional' ? 'All teams' : null),
    select('process', 'Process', teams.processes, cfg.process, 'All processes'),
    select('period', 'Period', ['week', 'month'], cfg.period ?? 'week', null),
  );
}

export async function renderScorecard(
  api: Api,
  cfg: GadgetConfig,
  opts: { controls: boolean; onConfig?: (c: GadgetConfig) => void },
): Promise<HTMLElement> {
  const teams = await api.teams();
  const effective: GadgetConfig = { ...cfg, team: cfg.team ?? teams.teams[0] };
  const body = h('div', { class: 'gadget-body' });
  const root = card('Team scorecard', 'scorecard', body);
  if (opts.controls && opts.onConfig) body.append(configControls(teams, effective, opts.onConfig));
  if (!effective.team) {
    body.append(message('No teams are configured yet.'));
    return root;
  }
  const data = await api.scorecards(effective);
  const sc = data.scorecards.find((s) => s.team === effective.team) ?? { team: effective.team, current: null, trend: [] };
  body.append(teamBlock(sc, data.periods, data.current_period));
  return root;
}
