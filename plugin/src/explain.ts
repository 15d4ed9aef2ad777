// Every number explains itself: an ⓘ button beside each figure opens a popover with the definition,
// the period, the formula and the goal (docs/plugin.md, "What the numbers mean"). The popover is the
// browser's own (`popover="auto"`): it opens on click, Enter or Space, closes on Esc or a click
// elsewhere, sits in the top layer (never widens a 300 px column) and follows its button in tab order.
import { h } from './dom';
import { DASH } from './format';
import type { Goal, PeriodWindow, TeamsResponse } from './types';

/** What a popover needs to say about the gadget's data. */
export interface Context {
  teams: TeamsResponse;
  /** e.g. "2026-W12 (16 Mar 2026 – 22 Mar 2026, Europe/Berlin)", "open requests now", "all time". */
  period: string;
  provider?: string;
  process?: string | null;
  previous?: string;
}

interface Entry {
  title: string;
  definition: string;
  formula: (c: Context) => string;
  goal: (c: Context) => string;
}

function hours(s: number | null): string {
  if (s === null) return DASH;
  const h = s / 3600;
  return Number.isInteger(h) ? `${h}h` : `${Math.round(s / 60)}m`;
}

function goalsOf(c: Context, field: 'resolution_s' | 'response_s'): string {
  const rows = c.teams.goals.filter(
    (g: Goal) => (!c.provider || g.provider === c.provider) && (!c.process || g.process === c.process) && g[field] !== null,
  );
  if (!rows.length) return c.provider ? `${c.provider} has no ${field === 'response_s' ? 'response' : 'resolution'} goal here: left out.` : 'none configured';
  const parts = rows.map((g) => {
    const when = [g.priority?.join('/'), g.issue_type?.join('/'), g.requester ? `from ${g.requester}` : null].filter(Boolean).join(', ');
    return `${c.provider ? '' : `${g.provider} `}${g.process}${when ? ` (${when})` : ''}: ${hours(g[field])}`;
  });
  return `within ${parts.join('; ')} of working time on the provider's calendar`;
}

const pctOf = (v: number) => `${Math.round(v * 100)} %`;

export const EXPLAIN: Record<string, Entry> = {
  score: {
    title: 'Score',
    definition: 'One number per team and period: resolution timeliness and quality, weighted. Response timeliness is shown beside it but is not part of it.',
    formula: (c) => {
      const w = c.teams.weights;
      const sat = w.satisfaction === null || w.satisfaction === undefined ? '' : ` + ${w.satisfaction} × satisfaction`;
      return `100 × (${w.timeliness} × timeliness + ${w.quality} × quality${sat}) ÷ the weights of the parts that have data`;
    },
    goal: () => '100: every request resolved within its goal and no delivery sent back.',
  },
  timeliness: {
    title: 'Timeliness',
    definition: 'Share of the requests resolved in the period that met their resolution goal.',
    formula: () => 'met ÷ resolved requests with a resolution goal',
    goal: (c) => goalsOf(c, 'resolution_s'),
  },
  response_timeliness: {
    title: 'Response timeliness',
    definition: 'Share of the requests resolved in the period whose first response (leaving the team’s queue) came in time. Not part of the score.',
    formula: () => 'met ÷ resolved requests with a response goal',
    goal: (c) => goalsOf(c, 'response_s'),
  },
  satisfaction: {
    title: 'Satisfaction',
    definition: 'How the team’s internal customers rated its deliveries in the period: the mean rating of the rated deliveries, out of 5. Part of the score only when the PMO weights it.',
    formula: () => 'mean rating ÷ 5 over the rated deliveries (none rated: no value)',
    goal: () => '100 %: every rated delivery got five stars.',
  },
  reasons: {
    title: 'Rejection reasons',
    definition: 'Why the team’s internal customers sent its deliveries back by verdict (the reason from the process’s list), in the periods shown. Returns without a verdict have no reason.',
    formula: () => 'deliveries rejected by verdict, counted per reason, most frequent first',
    goal: () => 'None.',
  },
  quality: {
    title: 'Quality',
    definition: 'Share of the team’s deliveries in the period that were not sent back (returned within the process’s reopen window).',
    formula: () => '1 − rejected ÷ delivered',
    goal: () => '100 %: nothing sent back.',
  },
  resolved: {
    title: 'Resolved requests',
    definition: 'Requests the team resolved in the period (delivered, returned, handed on or released), counted by when they were resolved. Open requests are counted apart.',
    formula: (c) => `count of requests resolved in the period (${c.teams.timezone})`,
    goal: (c) => `${c.teams.small_sample} or more for a solid sample; fewer are marked “small sample” and greyed.`,
  },
  open_at_risk: {
    title: 'Open at risk',
    definition: 'Requests still open now whose clock has used its at-risk share of the goal. They are not part of the period’s resolved figures.',
    formula: (c) => {
      const shares = [...new Set(c.teams.goals.filter((g) => !c.provider || g.provider === c.provider).map((g) => pctOf(g.at_risk)))];
      return `open requests with elapsed ≥ ${shares.join(' or ') || '75 %'} × goal (working time), goal not yet used up`;
    },
    goal: () => '0',
  },
  open_breached: {
    title: 'Open breached',
    definition: 'Requests still open now whose goal is already used up. They are not part of the period’s resolved figures.',
    formula: () => 'open requests with elapsed ≥ goal (working time)',
    goal: () => '0',
  },
  score_change: {
    title: 'Change',
    definition: 'How the score moved against the previous period.',
    formula: (c) => `score − score of ${c.previous ?? 'the previous period'}`,
    goal: () => '0 or more.',
  },
  matrix_timeliness: {
    title: 'Cell: timeliness',
    definition: 'Hand-offs from the requester (row) to the provider (column) that the provider resolved within the resolution goal. Row “intake”: work that entered the team from outside the flow (created, or from an unowned status); row “done”: work reopened after it was done.',
    formula: () => 'met ÷ resolved requests with a resolution goal, for this requester → provider pair',
    goal: (c) => goalsOf(c, 'resolution_s'),
  },
  rejection_rate: {
    title: 'Cell: rejection rate (↩)',
    definition: 'Share of the provider’s deliveries to this requester that were sent back: returned within the reopen window, or rejected by the requester’s verdict.',
    formula: () => 'rejected ÷ delivered',
    goal: () => '0 %',
  },
  matrix_reasons: {
    title: 'Cell: rejections by reason',
    definition: 'The provider’s deliveries to this requester that were sent back, by how: the requester’s verdict, with its reason from the process’s list, or a return (the issue moved back within the reopen window), which has no reason. A delivery both returned and rejected by verdict counts under its reason.',
    formula: () => 'rejected = returns + the reasons’ counts; reasons most frequent first, ties by name',
    goal: () => 'None sent back.',
  },
  requests: {
    title: 'Cell: requests',
    definition: 'Requests between the pair: the open ones (as of now) and the ones resolved in the period, shown apart.',
    formula: () => 'open + resolved',
    goal: () => 'no goal: a volume',
  },
  remaining_s: {
    title: 'Working time left',
    definition: 'Working time on the provider’s calendar until the live clock reaches its goal (over: past it). Paused time does not count.',
    formula: () => 'goal − elapsed working time (resolution clock, else response clock)',
    goal: (c) => goalsOf(c, 'resolution_s'),
  },
  due_at: {
    title: 'Due',
    definition: 'When the clock reaches its goal if the request keeps running, on the provider’s calendar.',
    formula: () => 'now + the working time left, counted on the provider’s working hours and holidays',
    goal: () => 'resolve before it',
  },
  unmapped: {
    title: 'Unmapped hand-offs',
    definition: 'Moves between two teams that the configuration does not list as a hand-off; they are clocked only when the process sets unmapped_goal.',
    formula: () => 'count of such moves per team pair and status pair',
    goal: () => '0: configure the routine ones as hand-offs (docs/configuration.md).',
  },
};

let ids = 0;

/** The ⓘ button for `key` with its popover (definition, period, formula, goal). */
export function info(key: string, c: Context, label?: string): HTMLElement {
  const e = EXPLAIN[key];
  const id = `explain-${++ids}`;
  const title = label ?? e.title;
  const pop = h(
    'div',
    { id, popover: 'auto', class: 'explain', role: 'dialog', 'aria-labelledby': `${id}-t`, 'data-explain': key },
    h('strong', { id: `${id}-t` }, title),
    h(
      'dl',
      {},
      h('dt', {}, 'What'),
      h('dd', {}, e.definition),
      h('dt', {}, 'Period'),
      h('dd', { 'data-part': 'period' }, c.period),
      h('dt', {}, 'Formula'),
      h('dd', { 'data-part': 'formula' }, e.formula(c)),
      h('dt', {}, 'Goal'),
      h('dd', { 'data-part': 'goal' }, e.goal(c)),
    ),
  );
  const button = h('button', { type: 'button', class: 'info', popovertarget: id, 'aria-label': `About ${title}`, 'aria-controls': id }, 'i');
  pop.addEventListener('toggle', (ev) => {
    if ((ev as ToggleEvent).newState !== 'open') return;
    const r = button.getBoundingClientRect();
    const w = pop.offsetWidth;
    const left = Math.max(8, Math.min(r.left, window.innerWidth - w - 8));
    const below = r.bottom + 4;
    const top = below + pop.offsetHeight > window.innerHeight - 8 ? Math.max(8, r.top - pop.offsetHeight - 4) : below;
    pop.style.left = `${left}px`;
    pop.style.top = `${top}px`;
  });
  return h('span', { class: 'explained' }, button, pop);
}

/** A time in the scoring time zone, e.g. "18 Mar 2026, 12:30". */
export function timeIn(iso: string | null | undefined, timezone: string): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: timezone });
}

function dayIn(iso: string, timezone: string): string {
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: timezone });
}

/** "2026-W12 (16 Mar 2026 – 22 Mar 2026, Europe/Berlin)": the end is exclusive, so the last day is shown. */
export function periodText(w: PeriodWindow | null | undefined, timezone: string, fallback = 'all time'): string {
  if (!w) return fallback;
  const lastDay = new Date(new Date(w.end).getTime() - 1).toISOString();
  return `${w.label} (${dayIn(w.start, timezone)} – ${dayIn(lastDay, timezone)}, ${timezone})`;
}

/** Every gadget's footer: its period, as-of time and the time zone of the times it shows. */
export function footer(period: string, asOf: string, timezone: string): HTMLElement {
  return h(
    'p',
    { class: 'as-of muted small', 'data-field': 'as-of', 'data-value': JSON.stringify(asOf), 'data-timezone': timezone },
    `${period} · as of ${timeIn(asOf, timezone)} · times in ${timezone}`,
  );
}
