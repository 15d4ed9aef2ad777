// The issue's hand-offs (Forge `jira:issuePanel` "Hand-offs", module key `baton-handoffs`): the chain
// of requests with each clock against its goal, the outcome and the verdict; for a member of the judging
// team, while a delivery awaits its verdict, the verdict form (docs/plugin.md, "The Hand-offs panel").
// Whether a delivery awaits a verdict, who may judge it and until when come from the API
// (`GET /issues/<key>/handoffs`); whether a verdict applies is the engine's rule (a 409 shows its message).
import { ApiError, type Api } from './api';
import { card, h, message, num } from './dom';
import { footer, timeIn } from './explain';
import { DASH, duration, STATE_LABEL } from './format';
import type { HandoffRow, HandoffsResponse, VerdictRequest } from './types';

const OUTCOME_LABEL: Record<string, string> = {
  delivered: 'Delivered',
  returned: 'Returned',
  cancelled: 'Cancelled',
};

const VERDICT_LABEL: Record<string, string> = {
  accepted: 'Accepted',
  rejected: 'Sent back',
  implicit: 'Accepted (no verdict in the window)',
};

function stars(rating: number): string {
  return '★'.repeat(rating) + '☆'.repeat(Math.max(0, 5 - rating));
}

/** "2h 5m of 4h" and the clock's state; a dash when the request has no goal for this clock. */
function clock(field: string, elapsed: number | null, goal: number | null, state: string): HTMLElement {
  return h(
    'span',
    { class: 'clock', 'data-clock': field, 'data-state': state },
    num(`${field}_elapsed_s`, elapsed, duration(elapsed)),
    goal === null ? ' (no goal)' : h('span', {}, ' of ', num(`${field}_goal_s`, goal, duration(goal))),
    ' ',
    state !== 'none' ? h('span', { class: `state state-${state}` }, STATE_LABEL[state] ?? state) : null,
  );
}

function verdictText(row: HandoffRow, tz: string): HTMLElement {
  const parts: (HTMLElement | string)[] = [];
  if (row.verdict) {
    parts.push(h('strong', { 'data-field': 'verdict', 'data-value': JSON.stringify(row.verdict) }, VERDICT_LABEL[row.verdict] ?? row.verdict));
    if (row.rating !== null) parts.push(' ', h('span', { class: 'stars-shown', 'data-field': 'rating', 'data-value': String(row.rating), 'aria-label': `${row.rating} of 5 stars` }, stars(row.rating)));
    if (row.verdict_reason) parts.push(' · ', h('span', { 'data-field': 'verdict_reason', 'data-value': JSON.stringify(row.verdict_reason) }, row.verdict_reason));
    if (row.verdict_by || row.verdict_at) parts.push(h('div', { class: 'muted small' }, `by ${row.verdict_by ?? DASH}, ${timeIn(row.verdict_at, tz)}`));
  } else if (row.awaiting_verdict) {
    parts.push(
      h('span', { 'data-field': 'verdict', 'data-value': 'null' }, `Awaiting ${row.customer ?? DASH}'s verdict until `),
      h('span', { 'data-field': 'verdict_due_at', 'data-value': JSON.stringify(row.verdict_due_at) }, timeIn(row.verdict_due_at, tz)),
    );
  } else if (row.rejected) {
    parts.push(h('span', { 'data-field': 'verdict', 'data-value': 'null' }, 'Rejected: the work came back (a return always rejects)'));
  } else {
    parts.push(h('span', { 'data-field': 'verdict', 'data-value': 'null' }, row.customer ? DASH : 'Not judged (no customer)'));
  }
  return h('div', { class: 'verdict' }, ...parts);
}

let formSeq = 0;

/** Accept with 1–5 stars, or send back with a reason and a comment: native radios, selects and buttons. */
function verdictForm(row: HandoffRow, issue: string, tz: string, submit: (body: VerdictRequest, status: HTMLElement) => Promise<void>): HTMLElement {
  const id = `v${++formSeq}`;
  const status = h('p', { class: 'error verdict-status', role: 'alert', 'aria-live': 'assertive' });
  const team = row.customer ?? '';
  const starLabels: HTMLElement[] = [];
  const radios = [1, 2, 3, 4, 5].map((n) => {
    const input = h('input', { type: 'radio', name: `${id}-rating`, value: n, id: `${id}-r${n}`, class: 'star-input' }) as HTMLInputElement;
    const label = h('label', { for: `${id}-r${n}`, class: 'star', title: `${n} of 5` }, '★', h('span', { class: 'sr-only' }, `${n} ${n === 1 ? 'star' : 'stars'}`));
    starLabels.push(label);
    input.addEventListener('change', () => starLabels.forEach((l, i) => l.classList.toggle('on', i < n)));
    return [input, label];
  });
  const busy = (form: HTMLElement, on: boolean) => form.querySelectorAll('button').forEach((b) => ((b as HTMLButtonElement).disabled = on));
  const accept = h(
    'form',
    {
      class: 'verdict-accept',
      'data-action': 'accept',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        const checked = form.querySelector<HTMLInputElement>('input.star-input:checked');
        const comment = (form.querySelector('textarea') as HTMLTextAreaElement).value.trim();
        busy(form, true);
        void submit({ issue, team, action: 'accept', ...(checked ? { rating: Number(checked.value) } : {}), ...(comment ? { comment } : {}) }, status).finally(() => busy(form, false));
      },
    },
    h('fieldset', { class: 'stars' }, h('legend', {}, 'Rating (optional)'), ...radios.flat()),
    h('label', { class: 'control' }, 'Comment (optional)', h('textarea', { name: 'comment', rows: 2, maxlength: 2000 })),
    h('button', { type: 'submit', class: 'primary' }, 'Accept'),
  );
  const reasons = row.rejection_reasons;
  const reject = h(
    'form',
    {
      class: 'verdict-reject',
      'data-action': 'reject',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        const reason = (form.querySelector('select') as HTMLSelectElement).value;
        const comment = (form.querySelector('textarea') as HTMLTextAreaElement).value.trim();
        busy(form, true);
        void submit({ issue, team, action: 'reject', ...(reason ? { reason } : {}), ...(comment ? { comment } : {}) }, status).finally(() => busy(form, false));
      },
    },
    h(
      'label',
      { class: 'control' },
      'Reason',
      h('select', { name: 'reason', required: reasons.length > 0 }, ...reasons.map((r) => h('option', { value: r }, r))),
    ),
    h('label', { class: 'control' }, 'Comment', h('textarea', { name: 'comment', rows: 2, maxlength: 2000 })),
    h('button', { type: 'submit' }, 'Send back'),
  );
  return h(
    'div',
    { class: 'verdict-form', 'data-team': team },
    h(
      'p',
      { class: 'small' },
      `Your team, ${team}, may judge this delivery until `,
      h('strong', { 'data-field': 'deadline', 'data-value': JSON.stringify(row.verdict_due_at) }, timeIn(row.verdict_due_at, tz)),
      ` (${tz}). Silence is acceptance.`,
    ),
    h('div', { class: 'verdict-actions' }, accept, reject),
    status,
  );
}

function entry(row: HandoffRow, index: number, issue: string, tz: string, submit: (body: VerdictRequest, status: HTMLElement) => Promise<void>): HTMLElement {
  const judging = row.may_judge && row.awaiting_verdict;
  return h(
    'li',
    {
      class: 'handoff',
      'data-index': index,
      'data-provider': row.provider,
      'data-customer': row.customer ?? '',
      'data-outcome': row.outcome ?? '',
    },
    h(
      'div',
      { class: 'handoff-head' },
      h('strong', {}, row.requester ? `${row.requester} → ${row.provider}` : row.provider),
      h('span', { class: 'muted small' }, row.kind),
      h('span', { class: 'outcome', 'data-field': 'outcome', 'data-value': JSON.stringify(row.outcome) }, row.outcome ? (OUTCOME_LABEL[row.outcome] ?? row.outcome) : 'Open'),
    ),
    h(
      'dl',
      { class: 'handoff-facts' },
      h('dt', {}, 'Team'),
      h('dd', {}, row.provider),
      h('dt', {}, 'Opened'),
      h('dd', {}, timeIn(row.opened_at, tz)),
      h('dt', {}, 'First response'),
      h('dd', {}, timeIn(row.first_response_at, tz), ' · ', clock('response', row.response_elapsed_s, row.response_goal_s, row.response_state)),
      h('dt', {}, 'Resolved'),
      h('dd', {}, timeIn(row.resolved_at, tz), ' · ', clock('resolution', row.resolution_elapsed_s, row.resolution_goal_s, row.resolution_state)),
      h('dt', {}, 'Verdict'),
      h('dd', {}, verdictText(row, tz)),
    ),
    judging ? verdictForm(row, issue, tz, submit) : null,
  );
}

function body(data: HandoffsResponse, submit: (b: VerdictRequest, status: HTMLElement) => Promise<void>): HTMLElement[] {
  if (!data.handoffs.length) return [message('No hand-off on this issue yet.')];
  return [
    h('ol', { class: 'handoff-list' }, ...data.handoffs.map((row, i) => entry(row, i, data.issue, data.timezone, submit))),
    footer(`Every hand-off of ${data.issue}${data.read_only ? ' · read-only' : ''}`, data.as_of, data.timezone),
  ];
}

/** The panel; after a recorded verdict it re-renders from the API (the verdict re-derives the issue). */
export async function renderHandoffs(api: Api, issue: string): Promise<HTMLElement> {
  const content = h('div', { class: 'gadget-body' });
  const root = card('Hand-offs', 'handoffs', content);
  if (!issue) {
    content.append(message('No issue in the context.', 'error'));
    return root;
  }
  const draw = async (note?: string) => {
    const data = await api.handoffs(issue);
    content.replaceChildren(...(note ? [h('p', { class: 'muted', role: 'status', 'data-status': 'recorded' }, note)] : []), ...body(data, submit));
    root.dataset.ready = 'true';
  };
  const submit = async (request: VerdictRequest, status: HTMLElement): Promise<void> => {
    status.textContent = '';
    try {
      const done = await api.verdict(request);
      await draw(`Verdict recorded: ${done.verdict === 'accepted' ? 'accepted' : 'sent back'} (${done.provider}'s delivery to ${done.team}).`);
    } catch (e) {
      const err = e instanceof ApiError ? e : null;
      status.dataset.error = err?.code ?? String(err?.status ?? 'error');
      status.textContent = err ? err.message : `Could not send the verdict: ${(e as Error)?.message ?? e}`;
    }
  };
  await draw();
  return root;
}
