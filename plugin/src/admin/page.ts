// The PMO's admin page: the draft configuration, what it means (teams and statuses, processes, the hand-off
// map), the unmapped hand-offs with "make routine", validation at the field, a preview on the stored history,
// publish / history / rollback / export. Every YAML edit and every number comes from the service
// (webhooks/http/admin.py); this file only shows them and keeps the draft in the page.
import './admin.css';
import { h, message, num } from '../dom';
import { AdminApi, AdminError } from './api';
import { processColours, renderGraph } from './graph';
import type {
  DraftReport,
  EditRequest,
  JiraStatus,
  Outline,
  PreviewResponse,
  Problem,
  Rederive,
  StateResponse,
  StatusesResponse,
  UnmappedAdminRow,
  Version,
} from './types';

type Child = Node | string | null | undefined | false;

interface Model {
  state: StateResponse;
  draft: string;
  base: number | null;
  report: DraftReport | null;
  lastOutline: Outline | null;
  lastGraph: DraftReport['graph'];
  statuses: StatusesResponse | null;
  statusesError: string | null;
  unmapped: UnmappedAdminRow[];
  preview: PreviewResponse | null;
  previewPeriod: string | null;
  history: Version[];
  shown: Version | null;
  conflict: { message: string; latest: Version | null } | null;
  notice: { text: string; kind: 'ok' | 'error' } | null;
  busy: string | null;
}

const PREVIEW_FIELDS = ['score', 'timeliness', 'quality', 'resolved', 'rejected'] as const;
const SECTIONS = ['validate', 'teams', 'processes', 'graph', 'unmapped', 'preview', 'publish', 'history'] as const;
type Section = (typeof SECTIONS)[number];

function statusKey(text: string): string {
  if (text.startsWith('id:')) return `id:${text.slice(3).trim()}`;
  return `name:${text.split(/\s+/).filter(Boolean).join(' ').toLowerCase()}`;
}

function hours(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  const h = seconds / 3600;
  return Number.isInteger(h) ? `${h}h` : `${(seconds / 60).toFixed(0)}m`;
}

function days(seconds: number): string {
  const d = seconds / 86400;
  return Number.isInteger(d) ? `${d}d` : hours(seconds);
}

function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC');
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  (a as HTMLAnchorElement).click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export class AdminPage {
  private readonly m: Model;
  private readonly parts = new Map<Section, HTMLElement>();
  private editor!: HTMLTextAreaElement;
  private validateTimer: number | undefined;
  private rederiveTimer: number | undefined;
  private banner!: HTMLElement;
  private rederiveLine!: HTMLElement;

  constructor(
    private readonly api: AdminApi,
    state: StateResponse,
    private readonly root: HTMLElement,
  ) {
    this.m = {
      state,
      draft: state.live_yaml ?? '',
      base: state.base_version,
      report: null,
      lastOutline: null,
      lastGraph: null,
      statuses: null,
      statusesError: null,
      unmapped: [],
      preview: null,
      previewPeriod: null,
      history: [],
      shown: null,
      conflict: null,
      notice: null,
      busy: null,
    };
  }

  async start(): Promise<void> {
    this.layout();
    await Promise.all([this.validate(), this.loadStatuses(), this.loadUnmapped(), this.loadHistory()]);
    this.watchRederive(this.m.state.rederive);
    document.body.dataset.ready = 'true';
  }

  // --- layout ------------------------------------------------------------------------------------

  private layout(): void {
    const s = this.m.state;
    this.banner = h('div', { class: 'banners' });
    this.rederiveLine = h('p', { class: 'rederive muted', 'data-state': s.rederive.state });
    this.editor = h('textarea', {
      name: 'draft',
      class: 'draft',
      spellcheck: 'false',
      rows: 24,
      'aria-label': 'Draft configuration (YAML)',
    }) as HTMLTextAreaElement;
    this.editor.value = this.m.draft;
    this.editor.addEventListener('input', () => {
      this.m.draft = this.editor.value;
      window.clearTimeout(this.validateTimer);
      this.validateTimer = window.setTimeout(() => void this.validate(), 500);
    });
    for (const name of SECTIONS) this.parts.set(name, h('section', { class: 'admin-section', 'data-section': name }));
    const who = { token: 'admin token', session: 'admin token (signed in)', forge: 'Jira administrator' }[s.method];
    const header = h(
      'header',
      { class: 'page-head admin-head' },
      h('h1', {}, 'Baton configuration'),
      h('span', { class: 'muted' }, `site ${s.site} · ${who}`),
      s.method === 'session'
        ? h('form', { method: 'post', action: '/admin/logout', class: 'logout' }, h('button', { type: 'submit' }, 'Sign out'))
        : null,
    );
    const editorPane = h(
      'div',
      { class: 'editor-pane' },
      h('h2', {}, 'Draft'),
      h('p', { class: 'muted' }, this.m.base === null ? 'No version published yet: this draft starts the history.' : `Edited from version ${this.m.base}.`),
      this.editor,
      this.parts.get('validate')!,
    );
    const main = h(
      'main',
      { class: 'admin' },
      h('div', { class: 'admin-cols' }, editorPane, h('div', { class: 'admin-view' }, this.parts.get('teams')!, this.parts.get('processes')!, this.parts.get('graph')!)),
      this.parts.get('unmapped')!,
      this.parts.get('preview')!,
      this.parts.get('publish')!,
      this.parts.get('history')!,
    );
    this.root.replaceChildren(header, this.banner, this.rederiveLine, main);
    this.renderBanner();
    this.renderAll();
  }

  private renderAll(): void {
    this.renderValidate();
    this.renderTeams();
    this.renderProcesses();
    this.renderGraph();
    this.renderUnmapped();
    this.renderPreview();
    this.renderPublish();
    this.renderHistory();
  }

  private renderBanner(): void {
    const s = this.m.state;
    const items: Child[] = [];
    if (s.read_only) {
      items.push(h('div', { class: 'banner read-only', role: 'status' }, h('strong', {}, 'Read-only: configuration as code. '), s.read_only_reason ?? ''));
    }
    if (this.m.notice) items.push(h('div', { class: `banner notice ${this.m.notice.kind}`, role: 'status' }, this.m.notice.text));
    this.banner.replaceChildren(...items.filter((x): x is Node => x instanceof Node));
  }

  private section(name: Section, title: string, ...body: Child[]): void {
    this.parts.get(name)!.replaceChildren(h('h2', {}, title), ...body.filter((b): b is Node | string => Boolean(b)));
  }

  private fail(e: unknown): void {
    const text = e instanceof AdminError ? e.describe() : String((e as Error)?.message ?? e);
    this.m.notice = { text, kind: 'error' };
    this.renderBanner();
  }

  // --- the draft ---------------------------------------------------------------------------------

  private setDraft(text: string): void {
    this.m.draft = text;
    if (this.editor.value !== text) this.editor.value = text;
  }

  private async validate(): Promise<void> {
    const text = this.m.draft;
    try {
      const report = await this.api.validate(text);
      if (text !== this.m.draft) return; // typed on meanwhile: the next run shows it
      this.acceptReport(report);
    } catch (e) {
      this.fail(e);
    }
  }

  private acceptReport(report: DraftReport): void {
    this.m.report = report;
    if (report.valid && report.outline) {
      this.m.lastOutline = report.outline;
      this.m.lastGraph = report.graph;
    }
    this.renderValidate();
    this.renderTeams();
    this.renderProcesses();
    this.renderGraph();
    this.renderUnmapped();
    this.renderPublish();
  }

  private async edit(change: EditRequest): Promise<void> {
    try {
      const result = await this.api.edit(this.m.draft, change);
      this.setDraft(result.yaml);
      this.acceptReport(result);
      this.m.notice = null;
      this.renderBanner();
    } catch (e) {
      this.fail(e);
    }
  }

  private problemsUnder(prefix: string): Problem[] {
    return (this.m.report?.problems ?? []).filter((p) => p.dotted === prefix || p.dotted.startsWith(prefix + '.') || p.dotted.startsWith(prefix + '['));
  }

  private problemList(problems: Problem[]): HTMLElement | null {
    if (!problems.length) return null;
    return h(
      'ul',
      { class: 'problems' },
      ...problems.map((p) =>
        h(
          'li',
          { 'data-path': p.dotted, 'data-line': p.line ?? '', onclick: () => this.goToLine(p.line) },
          p.line ? h('span', { class: 'line' }, `line ${p.line}`) : null,
          p.dotted ? h('code', {}, p.dotted) : null,
          ' ',
          p.message,
        ),
      ),
    );
  }

  private goToLine(line: number | null): void {
    if (!line) return;
    const lines = this.editor.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    this.editor.focus();
    this.editor.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    this.editor.scrollTop = Math.max(0, (line - 3) * 18);
  }

  private renderValidate(): void {
    const r = this.m.report;
    const status = !r
      ? message('Validating…')
      : r.valid
        ? h('p', { class: 'valid ok', 'data-valid': 'true' }, '✓ The draft is valid.')
        : h('p', { class: 'valid error', 'data-valid': 'false' }, `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}: the draft cannot be published.`);
    this.section('validate', 'Validate', h('div', { class: 'actions' }, h('button', { type: 'button', 'data-action': 'validate', onclick: () => void this.validate() }, 'Validate')), status, r ? this.problemList(r.problems) : null);
  }

  // --- teams and statuses ------------------------------------------------------------------------

  private renderTeams(): void {
    const o = this.m.lastOutline;
    if (!o) {
      this.section('teams', 'Teams and statuses', message('Shown once the draft is valid.'));
      return;
    }
    const owners = new Map<string, { team: string; role: 'queue' | 'active' }>();
    for (const t of o.teams) for (const role of ['queue', 'active'] as const) for (const k of t.keys[role]) if (!owners.has(k)) owners.set(k, { team: t.name, role });
    const special = new Map<string, string[]>();
    for (const p of o.processes) {
      for (const s of p.pause) special.set(statusKey(s), [...(special.get(statusKey(s)) ?? []), `pause in ${p.name}`]);
      for (const s of p.done ?? []) special.set(statusKey(s), [...(special.get(statusKey(s)) ?? []), `done in ${p.name}`]);
    }
    const options = ['', ...o.teams.flatMap((t) => [`${t.name}:queue`, `${t.name}:active`])];
    const jira: JiraStatus[] = this.m.statuses?.statuses ?? [];
    const seen = new Set<string>();
    const rows = jira.map((st) => {
      const keys = [`id:${st.id}`, statusKey(st.name)];
      keys.forEach((k) => seen.add(k));
      const owner = keys.map((k) => owners.get(k)).find(Boolean);
      const roles = keys.flatMap((k) => special.get(k) ?? []);
      const unassigned = !owner && roles.length === 0;
      const select = h(
        'select',
        {
          name: 'owner',
          'aria-label': `Owner of ${st.name}`,
          onchange: (e: Event) => {
            const [team, role] = (e.target as HTMLSelectElement).value.split(':');
            void this.edit({ op: 'assign_status', status: st.name, team: team || null, role: (role as 'queue' | 'active') || null });
          },
        },
        ...options.map((v) => {
          const opt = h('option', { value: v }, v ? v.replace(':', ' · ') : '— unassigned —') as HTMLOptionElement;
          if (owner && v === `${owner.team}:${owner.role}`) opt.selected = true;
          return opt;
        }),
      );
      return h(
        'tr',
        { 'data-status': st.name, class: unassigned ? 'unassigned' : null },
        h('td', {}, st.name, unassigned ? h('span', { class: 'tag warn' }, 'unassigned') : null),
        h('td', { class: 'muted' }, st.category ?? ''),
        h('td', {}, select),
        h('td', { class: 'muted' }, roles.join(', ')),
      );
    });
    const missing: HTMLElement[] = [];
    if (this.m.statuses?.available) {
      for (const t of o.teams)
        for (const role of ['queue', 'active'] as const)
          t[role].forEach((name, i) => {
            const key = t.keys[role][i];
            if (!seen.has(key)) missing.push(h('li', { 'data-missing': name }, h('code', {}, `teams.${t.name}.statuses.${role}`), ` '${name}' is not a status of this Jira site`));
          });
    }
    const teamList = h(
      'ul',
      { class: 'teams' },
      ...o.teams.map((t) =>
        h(
          'li',
          { 'data-team': t.name },
          h('strong', {}, t.name),
          h('span', { class: 'muted' }, ` · calendar ${t.calendar} · queue: ${t.queue.join(', ') || '–'} · active: ${t.active.join(', ') || '–'}`),
          this.problemList(this.problemsUnder(`teams.${t.name}`)),
        ),
      ),
    );
    const jiraPart = this.m.statusesError
      ? message(this.m.statusesError, 'error')
      : this.m.statuses && !this.m.statuses.available
        ? message(this.m.statuses.message ?? 'Jira is not connected for this site.')
        : !this.m.statuses
          ? message('Loading the statuses from Jira…')
          : h(
              'table',
              { class: 'statuses' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Jira status'), h('th', {}, 'Category'), h('th', {}, 'Team and role'), h('th', {}, 'Also'))),
              h('tbody', {}, ...rows),
            );
    this.section('teams', 'Teams and statuses', teamList, jiraPart, missing.length ? h('ul', { class: 'problems missing' }, ...missing) : null);
  }

  private async loadStatuses(): Promise<void> {
    try {
      this.m.statuses = await this.api.statuses();
      this.m.statusesError = null;
    } catch (e) {
      this.m.statusesError = `Could not read the statuses from Jira: ${(e as Error).message}`;
    }
    this.renderTeams();
  }

  // --- processes -----------------------------------------------------------------------------------

  private renderProcesses(): void {
    const o = this.m.lastOutline;
    if (!o) {
      this.section('processes', 'Processes', message('Shown once the draft is valid.'));
      return;
    }
    const cards = o.processes.map((p) =>
      h(
        'article',
        { class: 'process', 'data-process': p.name },
        h('h3', {}, p.name, h('span', { class: 'muted' }, ` · projects ${p.projects.join(', ')}${p.issue_types ? ` · ${p.issue_types.join(', ')}` : ''}`)),
        h(
          'p',
          { class: 'flow' },
          p.stages ? `Stages: ${p.stages.join(' → ')}` : `Hand-offs: ${p.handoffs.map((x) => `${x.from} → ${x.to}`).join(', ')}`,
        ),
        h(
          'p',
          { class: 'muted' },
          `Pause: ${p.pause.join(', ') || '–'} · Done: ${p.done ? p.done.join(', ') : "Jira's done category"} · reopen window ${days(p.reopen_window_s)} · at risk at ${Math.round(p.at_risk * 100)}%`,
          p.unmapped_goal ? ` · unmapped goal ${hours(p.unmapped_goal.response_s)} / ${hours(p.unmapped_goal.resolution_s)}` : '',
        ),
        h(
          'table',
          { class: 'goals' },
          h('thead', {}, h('tr', {}, ...['Provider', 'Requester', 'Priority', 'Issue type', 'Response', 'Resolution', 'Rework', 'At risk'].map((c) => h('th', {}, c)))),
          h(
            'tbody',
            {},
            ...p.sla.map((r) =>
              h(
                'tr',
                { 'data-provider': r.provider },
                h('td', {}, r.provider),
                h('td', {}, r.requester ?? 'any'),
                h('td', {}, r.priority?.join(', ') ?? 'any'),
                h('td', {}, r.issue_type?.join(', ') ?? 'any'),
                h('td', {}, num('response', r.response_s, hours(r.response_s))),
                h('td', {}, num('resolution', r.resolution_s, hours(r.resolution_s))),
                h('td', {}, num('rework', r.rework_s, hours(r.rework_s))),
                h('td', {}, `${Math.round(r.at_risk * 100)}%`),
              ),
            ),
          ),
        ),
        this.problemList(this.problemsUnder(`processes.${p.name}`)),
      ),
    );
    this.section('processes', 'Processes', ...cards);
  }

  // --- the hand-off map ----------------------------------------------------------------------------

  private renderGraph(): void {
    const g = this.m.lastGraph;
    const o = this.m.lastOutline;
    if (!g || !o) {
      this.section('graph', 'Hand-off map', message('Shown once the draft is valid.'));
      return;
    }
    const names = o.processes.map((p) => p.name);
    const colours = processColours(names);
    const legend = h(
      'p',
      { class: 'legend' },
      ...names.map((p) => h('span', { class: 'key' }, h('span', { class: 'swatch', style: `background:${colours[p]}` }), ` ${p} `)),
      h('span', { class: 'key' }, h('span', { class: 'swatch dashed' }), ' unmapped (requests seen)'),
    );
    this.section('graph', 'Hand-off map', legend, h('div', { class: 'graph-box' }, renderGraph(g, names)));
  }

  // --- unmapped hand-offs --------------------------------------------------------------------------

  private async loadUnmapped(): Promise<void> {
    try {
      this.m.unmapped = (await this.api.unmapped()).rows;
    } catch (e) {
      this.fail(e);
    }
    this.renderUnmapped();
  }

  private renderUnmapped(): void {
    const routine = new Set((this.m.lastOutline?.edges ?? []).map((e) => `${e.process}|${e.from}|${e.to}`));
    const rows = this.m.unmapped;
    if (!rows.length) {
      this.section('unmapped', 'Unmapped hand-offs', message('No unmapped hand-offs in the stored history.'));
      return;
    }
    const body = rows.map((r) => {
      const done = r.requester !== null && routine.has(`${r.process}|${r.requester}|${r.provider}`);
      return h(
        'tr',
        { 'data-process': r.process, 'data-requester': r.requester ?? '', 'data-provider': r.provider, class: done ? 'routine' : null },
        h('td', {}, r.process),
        h('td', {}, `${r.requester ?? 'intake'} → ${r.provider}`),
        h('td', { class: 'muted' }, `${r.from_status ?? '–'} → ${r.to_status ?? '–'}`),
        h('td', { class: 'count' }, num('count', r.count, String(r.count))),
        h('td', { class: 'muted' }, r.examples.join(', ')),
        h(
          'td',
          {},
          done
            ? h('span', { class: 'tag ok' }, 'routine in the draft')
            : h(
                'button',
                {
                  type: 'button',
                  'data-action': 'make-routine',
                  disabled: r.requester === null,
                  title: r.requester === null ? 'work from intake has no requester team' : `add ${r.requester} → ${r.provider} to ${r.process}`,
                  onclick: () => void this.edit({ op: 'make_routine', process: r.process, from: r.requester ?? '', to: r.provider }),
                },
                'Make routine',
              ),
        ),
      );
    });
    this.section(
      'unmapped',
      'Unmapped hand-offs',
      h('p', { class: 'muted' }, 'Seen in Jira under the live configuration. "Make routine" adds the rule to the draft; preview and publish to apply it.'),
      h(
        'table',
        { class: 'unmapped-list' },
        h('thead', {}, h('tr', {}, ...['Process', 'Teams', 'Statuses', 'Requests', 'Examples', ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, ...body),
      ),
    );
  }

  // --- preview ---------------------------------------------------------------------------------------

  private async runPreview(period: 'week' | 'month'): Promise<void> {
    this.m.busy = 'preview';
    this.renderPreview();
    try {
      this.m.preview = await this.api.preview(this.m.draft, period);
      // the most recent period the draft changes (else the most recent one)
      const changed = this.m.preview.rows.filter((r) => PREVIEW_FIELDS.some((f) => (r.before?.[f] ?? null) !== (r.after?.[f] ?? null)));
      const periods = [...new Set((changed.length ? changed : this.m.preview.rows).map((r) => r.period))].sort();
      this.m.previewPeriod = periods[periods.length - 1] ?? null;
      this.m.notice = null;
    } catch (e) {
      if (e instanceof AdminError && Array.isArray(e.body.problems)) {
        this.acceptReport({ ...(this.m.report as DraftReport), valid: false, problems: e.body.problems as Problem[] });
      }
      this.fail(e);
    }
    this.m.busy = null;
    this.renderBanner();
    this.renderPreview();
  }

  private renderPreview(): void {
    const p = this.m.preview;
    const periodSelect = h('select', { name: 'preview-period', 'aria-label': 'Period' }, h('option', { value: 'week' }, 'week'), h('option', { value: 'month' }, 'month')) as HTMLSelectElement;
    if (p) periodSelect.value = p.period;
    const controls = h(
      'div',
      { class: 'actions' },
      periodSelect,
      h('button', { type: 'button', class: 'primary', 'data-action': 'preview', disabled: this.m.busy === 'preview', onclick: () => void this.runPreview(periodSelect.value === 'month' ? 'month' : 'week') }, this.m.busy === 'preview' ? 'Computing…' : 'Preview on history'),
    );
    if (!p) {
      this.section('preview', 'Preview', h('p', { class: 'muted' }, 'Computes the draft on the stored history, next to the live configuration; nothing is written.'), controls);
      return;
    }
    const periods = [...new Set(p.rows.map((r) => r.period))].sort();
    const chosen = this.m.previewPeriod ?? periods[periods.length - 1];
    const pick = h(
      'select',
      {
        name: 'preview-window',
        'aria-label': 'Period shown',
        onchange: (e: Event) => {
          this.m.previewPeriod = (e.target as HTMLSelectElement).value;
          this.renderPreview();
        },
      },
      ...periods.map((x) => {
        const o = h('option', { value: x }, x) as HTMLOptionElement;
        if (x === chosen) o.selected = true;
        return o;
      }),
    );
    const fields = PREVIEW_FIELDS;
    const fmt = (field: string, v: unknown) => (v === null || v === undefined ? '–' : field === 'timeliness' || field === 'quality' ? `${(Number(v) * 100).toFixed(2)}%` : String(v));
    const rows = p.rows
      .filter((r) => r.period === chosen)
      .map((r) => {
        const changed = fields.some((f) => (r.before?.[f] ?? null) !== (r.after?.[f] ?? null));
        return h(
          'tr',
          { 'data-team': r.team, 'data-process': r.process ?? '', 'data-period': r.period, class: changed ? 'changed' : null },
          h('td', {}, r.team),
          h('td', {}, r.process ?? ''),
          ...fields.map((f) =>
            h(
              'td',
              { 'data-field': f, 'data-before': JSON.stringify(r.before?.[f] ?? null), 'data-after': JSON.stringify(r.after?.[f] ?? null) },
              h('span', { class: 'before' }, fmt(f, r.before?.[f])),
              ' → ',
              h('strong', { class: 'after' }, fmt(f, r.after?.[f])),
            ),
          ),
        );
      });
    const pairs = (title: string, cls: string, list: PreviewResponse['handoffs_mapped']) =>
      h(
        'div',
        { class: cls },
        h('h3', {}, `${title} (${list.length})`),
        list.length
          ? h(
              'ul',
              {},
              ...list.map((x) =>
                h('li', { 'data-requester': x.requester ?? '', 'data-provider': x.provider ?? '' }, `${x.requester ?? 'intake'} → ${x.provider ?? '–'} (${x.from_status ?? '–'} → ${x.to_status ?? '–'}): ${x.count ?? 0} requests`, x.examples?.length ? h('span', { class: 'muted' }, ` e.g. ${x.examples.join(', ')}`) : null),
              ),
            )
          : message('none'),
      );
    this.section(
      'preview',
      'Preview',
      controls,
      h('p', { class: 'muted summary' }, `${p.issues} issues, ${p.transitions} transitions; requests ${p.requests.before} → ${p.requests.after}; `, h('span', { 'data-field': 'changed_total', 'data-value': String(p.changed_total) }, `${p.changed_total} requests change kind, provider or outcome`), '.'),
      h('div', { class: 'actions' }, h('label', {}, 'Period shown ', pick)),
      h(
        'table',
        { class: 'preview' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Team'), h('th', {}, 'Process'), ...fields.map((f) => h('th', {}, `${f} before → after`)))),
        h('tbody', {}, ...rows),
      ),
      h('div', { class: 'pair-changes' }, pairs('Become routine', 'mapped', p.handoffs_mapped), pairs('Become unmapped', 'unmapped', p.handoffs_unmapped)),
    );
  }

  // --- publish, history, rollback, export ------------------------------------------------------------

  private async publish(comment: string): Promise<void> {
    this.m.busy = 'publish';
    this.renderPublish();
    try {
      const res = await this.api.publish(this.m.draft, comment, this.m.base);
      this.m.base = res.version.number;
      this.m.conflict = null;
      this.m.notice = { text: `Published version ${res.version.number}. The numbers switch over when the re-derivation is done.`, kind: 'ok' };
      await this.afterVersionChange();
    } catch (e) {
      if (e instanceof AdminError && e.status === 409 && e.body.error === 'config_conflict') {
        this.m.conflict = { message: e.message, latest: (e.body.latest as Version | null) ?? null };
        this.m.notice = null;
      } else if (e instanceof AdminError && e.status === 422) {
        this.acceptReport({ ...(this.m.report as DraftReport), valid: false, problems: (e.body.problems as Problem[]) ?? [] });
        this.fail(e);
      } else this.fail(e);
    }
    this.m.busy = null;
    this.renderBanner();
    this.renderPublish();
  }

  private async afterVersionChange(): Promise<void> {
    const [state] = await Promise.all([this.api.state(), this.loadHistory()]);
    this.m.state = state;
    this.watchRederive(state.rederive);
  }

  private renderPublish(): void {
    const ro = this.m.state.read_only;
    const comment = h('input', { name: 'comment', type: 'text', placeholder: 'What changed and why', maxlength: 2000, 'aria-label': 'Comment' }) as HTMLInputElement;
    const valid = this.m.report?.valid ?? false;
    const c = this.m.conflict;
    const conflict = c
      ? h(
          'div',
          { class: 'conflict', role: 'alert', 'data-latest': c.latest ? String(c.latest.number) : '' },
          h('p', {}, h('strong', {}, 'Not published: '), c.message),
          c.latest ? h('p', { class: 'muted' }, `Version ${c.latest.number} by ${c.latest.author}, ${when(c.latest.created_at)}${c.latest.comment ? `: “${c.latest.comment}”` : ''}. Your draft is unchanged above.`) : null,
          h(
            'div',
            { class: 'actions' },
            c.latest ? h('button', { type: 'button', 'data-action': 'show-latest', onclick: () => void this.show(c.latest!.number) }, `Show version ${c.latest.number}`) : null,
            c.latest
              ? h(
                  'button',
                  {
                    type: 'button',
                    'data-action': 'rebase',
                    onclick: () => {
                      this.m.base = c.latest!.number;
                      this.m.conflict = null;
                      this.m.notice = { text: `Your draft now replaces version ${c.latest!.number} when published.`, kind: 'ok' };
                      this.renderBanner();
                      this.renderPublish();
                    },
                  },
                  `Publish my draft over version ${c.latest.number}`,
                )
              : null,
          ),
        )
      : null;
    this.section(
      'publish',
      'Publish',
      ro ? message('Publishing is off: this service runs with its configuration as code.') : null,
      conflict,
      h(
        'form',
        {
          class: 'publish actions',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void this.publish(comment.value);
          },
        },
        comment,
        h('button', { type: 'submit', class: 'primary', 'data-action': 'publish', disabled: ro || !valid || this.m.busy === 'publish' }, this.m.busy === 'publish' ? 'Publishing…' : 'Publish'),
        h('button', { type: 'button', 'data-action': 'export', onclick: () => void this.exportYaml() }, 'Export live YAML'),
      ),
    );
  }

  private async exportYaml(n?: number): Promise<void> {
    try {
      const text = await this.api.exportYaml(n);
      download(`baton-${this.m.state.site}${n ? `-v${n}` : ''}.yaml`, text);
    } catch (e) {
      this.fail(e);
    }
  }

  private async loadHistory(): Promise<void> {
    try {
      this.m.history = (await this.api.history()).versions;
    } catch (e) {
      this.fail(e);
    }
    this.renderHistory();
  }

  private async show(n: number): Promise<void> {
    try {
      this.m.shown = (await this.api.version(n)).version;
    } catch (e) {
      this.fail(e);
    }
    this.renderHistory();
  }

  private async rollback(n: number): Promise<void> {
    try {
      const res = await this.api.rollback(n, `rollback to version ${n}`);
      this.m.notice = { text: `Rolled back: version ${res.version.number} is a copy of version ${n}.`, kind: 'ok' };
      this.m.base = res.version.number;
      const v = await this.api.version(res.version.number);
      this.setDraft(v.version.yaml_text ?? this.m.draft);
      await Promise.all([this.validate(), this.afterVersionChange()]);
    } catch (e) {
      this.fail(e);
    }
    this.renderBanner();
  }

  private renderHistory(): void {
    const ro = this.m.state.read_only;
    const live = this.m.history[0]?.number;
    const rows = this.m.history.map((v) =>
      h(
        'tr',
        { 'data-version': String(v.number), class: v.number === live ? 'live' : null },
        h('td', {}, `v${v.number}`, v.number === live ? h('span', { class: 'tag ok' }, 'live') : null),
        h('td', {}, when(v.created_at)),
        h('td', {}, v.author),
        h('td', {}, v.comment),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', 'data-action': 'show', onclick: () => void this.show(v.number) }, 'Show'),
          h('button', { type: 'button', 'data-action': 'export-version', onclick: () => void this.exportYaml(v.number) }, 'Export'),
          v.number !== live ? h('button', { type: 'button', 'data-action': 'rollback', disabled: ro, onclick: () => void this.rollback(v.number) }, 'Roll back to this') : null,
        ),
      ),
    );
    const shown = this.m.shown;
    this.section(
      'history',
      'History',
      rows.length ? h('table', { class: 'history' }, h('thead', {}, h('tr', {}, ...['Version', 'Published', 'By', 'Comment', ''].map((c) => h('th', {}, c)))), h('tbody', {}, ...rows)) : message('Nothing published yet.'),
      shown
        ? h(
            'div',
            { class: 'shown', 'data-version': String(shown.number) },
            h('h3', {}, `Version ${shown.number}`, h('button', { type: 'button', onclick: () => ((this.m.shown = null), this.renderHistory()) }, 'Close')),
            h('pre', { class: 'yaml' }, shown.yaml_text ?? ''),
          )
        : null,
    );
  }

  // --- re-derivation progress -------------------------------------------------------------------------

  private watchRederive(r: Rederive): void {
    window.clearTimeout(this.rederiveTimer);
    const line = this.rederiveLine;
    line.dataset.state = r.state;
    line.dataset.version = r.version === null ? '' : String(r.version);
    if (r.state === 'done') line.textContent = r.version === null ? '' : `Numbers are derived under version ${r.version}.`;
    else if (r.state === 'failed') line.textContent = `Re-deriving for version ${r.version} failed: ${r.error ?? 'see the service log'}. The previous numbers stay.`;
    else {
      const of = r.total_issues ? ` ${r.done_issues} / ${r.total_issues} issues` : '';
      line.replaceChildren(`Re-deriving for version ${r.version}:${of}… the gadgets show the previous numbers until it is done. `, h('progress', { max: r.total_issues || 1, value: r.done_issues }));
      this.rederiveTimer = window.setTimeout(async () => {
        try {
          const next = await this.api.rederive();
          this.watchRederive(next);
          if (next.state === 'done') void this.loadUnmapped();
        } catch {
          this.watchRederive(r);
        }
      }, 1000);
    }
  }
}

export async function startAdmin(api: AdminApi, root: HTMLElement): Promise<void> {
  try {
    const state = await api.state();
    await new AdminPage(api, state, root).start();
  } catch (e) {
    const status = e instanceof AdminError ? e.status : 0;
    const reason = e instanceof AdminError ? e.describe() : String((e as Error)?.message ?? e);
    const text = status === 401 ? 'Not signed in.' : status === 403 ? `Not allowed: ${reason}` : `Could not load the admin page: ${reason}`;
    root.replaceChildren(
      h('section', { class: 'admin-denied', 'data-error': String(status) }, message(text, 'error'), status === 401 && !('__bridge' in window) ? h('p', {}, h('a', { href: '/admin/login' }, 'Sign in with the admin token')) : null),
    );
    document.body.dataset.ready = 'error';
  }
}
