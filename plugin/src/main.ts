// Baton gadgets: one bundle, three hosts.
//  - Jira Cloud (Forge Custom UI): module key picks the gadget, data through Forge Remote,
//    `context.extension.entryPoint === 'edit'` renders the configuration form.
//  - Standalone (Flask `/`): every registered gadget in a grid, data through fetch on the same origin.
//  - One gadget (Flask `/gadgets/<name>`, also the iframe of Jira Data Center gadget XML).
import './style.css';
import { Api, ApiError, forgeGetter, forgePoster, httpGetter } from './api';
import { renderAtRisk } from './atrisk';
import { h, message } from './dom';
import { renderHandoffs } from './handoffs';
import { renderMatrix } from './matrix';
import { renderOverview } from './overview';
import { configControls, redrawCharts, renderScorecard } from './scorecard';
import { GADGET_NAMES, MODULE_TO_GADGET } from './registry';
import { applyThemeFromQuery, onThemeChange } from './theme';
import type { GadgetConfig } from './types';
import { renderGlance, renderUnmapped } from './unmapped';

/** The issue glance (`jira:issueGlance`) is not a dashboard gadget, so it is not in the registry. */
const GLANCE_MODULE = 'baton-sla-glance';
const GLANCE = 'glance';
/** The issue panel (`jira:issuePanel` "Hand-offs"): the issue's chain of requests and the verdict form. */
const HANDOFFS_MODULE = 'baton-handoffs';
const HANDOFFS = 'handoffs';

type TeamChoice = 'required' | 'optional' | 'worst' | 'none';
interface Renderer {
  render: (api: Api, cfg: GadgetConfig, onConfig?: (c: GadgetConfig) => void) => Promise<HTMLElement>;
  /** Whether the Forge configuration form asks for a team. */
  team: TeamChoice;
}

/** One renderer per registered gadget name (webhooks/http/gadgets.json). */
const RENDERERS: Record<string, Renderer> = {
  scorecard: { render: (api, cfg, onConfig) => renderScorecard(api, cfg, { controls: Boolean(onConfig), onConfig }), team: 'worst' },
  matrix: { render: renderMatrix, team: 'none' },
  'at-risk': { render: renderAtRisk, team: 'optional' },
  unmapped: { render: renderUnmapped, team: 'none' },
  overview: { render: renderOverview, team: 'none' },
};

const app = document.getElementById('app') as HTMLElement;

function errorBox(name: string, e: unknown): HTMLElement {
  const status = e instanceof ApiError ? e.status : 0;
  const text =
    status === 401
      ? 'Not signed in: open the share link Baton printed at start-up (or ask your Jira admin for one).'
      : status === 403
        ? 'This Jira site is not connected to Baton: ask your admin to add it (docs/plugin.md).'
        : `Could not load data: ${(e as Error)?.message ?? e}`;
  return h('section', { class: 'gadget', 'data-gadget': name, 'data-error': String(status) }, message(text, 'error'));
}

async function renderGadget(api: Api, name: string, cfg: GadgetConfig, onConfig?: (c: GadgetConfig) => void, extra?: { issue?: string }): Promise<HTMLElement> {
  try {
    if (name === GLANCE) return await renderGlance(api, extra?.issue ?? '');
    if (name === HANDOFFS) return await renderHandoffs(api, extra?.issue ?? '');
    const renderer = RENDERERS[name];
    if (!renderer) {
      const text = `Gadget '${name}' is registered but has no renderer: add it to RENDERERS in plugin/src/main.ts.`;
      return h('section', { class: 'gadget', 'data-gadget': name, 'data-error': 'renderer' }, message(text, 'error'));
    }
    return await renderer.render(api, cfg, onConfig);
  } catch (e) {
    return errorBox(name, e);
  }
}

function configFromQuery(): GadgetConfig {
  const q = new URLSearchParams(location.search);
  const period = q.get('period');
  return {
    team: q.get('team') ?? undefined,
    process: q.get('process') ?? undefined,
    period: period === 'month' || period === 'all' ? period : 'week',
  };
}

function pushConfig(cfg: GadgetConfig): void {
  const q = new URLSearchParams(location.search);
  for (const k of ['team', 'process', 'period'] as const) {
    const v = cfg[k];
    if (v) q.set(k, v);
    else q.delete(k);
  }
  history.replaceState(null, '', `${location.pathname}?${q.toString()}`);
}

/** One gadget as a whole page: a heading for screen readers and the gadget as the page's main landmark. */
function singlePage(name: string, part: HTMLElement): HTMLElement[] {
  return [h('h1', { class: 'sr-only' }, `Baton: ${name}`), h('main', { class: 'single' }, part)];
}

async function standalone(): Promise<void> {
  const api = new Api(httpGetter());
  const m = location.pathname.match(/\/gadgets\/([a-z-]+)\/?$/);
  const only = m && GADGET_NAMES.includes(m[1]) ? m[1] : null;
  let cfg = configFromQuery();

  const draw = async () => {
    const names = only ? [only] : GADGET_NAMES;
    const onConfig = (c: GadgetConfig) => {
      cfg = c;
      pushConfig(c);
      void draw();
    };
    const parts = await Promise.all(names.map((n) => renderGadget(api, n, cfg, onConfig)));
    if (only) app.replaceChildren(...singlePage(only, parts[0]));
    else {
      const header = h('header', { class: 'page-head' }, h('h1', {}, 'Baton'), h('span', { class: 'muted' }, 'Internal service levels for Jira hand-offs'));
      app.replaceChildren(header, h('main', { class: 'grid' }, ...parts));
    }
    document.body.dataset.ready = 'true';
  };
  await draw();
}

async function forge(): Promise<void> {
  const bridge = await import('@forge/bridge');
  await bridge.view.theme.enable().catch(() => undefined);
  const ctx = (await bridge.view.getContext()) as unknown as {
    moduleKey: string;
    extension?: { entryPoint?: string; gadgetConfiguration?: GadgetConfig; issue?: { key?: string } };
  };
  if (ctx.moduleKey === 'baton-admin') return (await import('./admin/entry')).startAdminForge(bridge.invokeRemote, app); // the admin page
  const api = new Api(forgeGetter(bridge.invokeRemote as never), forgePoster(bridge.invokeRemote as never));
  // an unknown module key (a manifest newer than this bundle) shows the first registered gadget
  const name =
    ctx.moduleKey === GLANCE_MODULE ? GLANCE : ctx.moduleKey === HANDOFFS_MODULE ? HANDOFFS : (MODULE_TO_GADGET[ctx.moduleKey] ?? GADGET_NAMES[0]);
  const team = RENDERERS[name]?.team ?? 'none';
  const cfg: GadgetConfig = { period: 'week', ...(ctx.extension?.gadgetConfiguration ?? {}) };

  if (ctx.extension?.entryPoint === 'edit') {
    let draft = { ...cfg };
    try {
      const teams = await api.teams();
      const form = h(
        'form',
        {
          class: 'gadget edit',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void bridge.view.submit({ ...draft, refresh: draft.refresh ?? 15 });
          },
        },
        h('h2', { class: 'gadget-title' }, 'Configure'),
        configControls(
          teams,
          team === 'required' ? (draft = { ...draft, team: draft.team ?? teams.teams[0] }) : draft,
          (c) => (draft = c),
          team,
        ),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), h('button', { type: 'button', onclick: () => void bridge.view.close() }, 'Cancel')),
      );
      app.replaceChildren(form);
    } catch (e) {
      app.replaceChildren(errorBox(name, e));
    }
    return;
  }
  app.replaceChildren(...singlePage(name, await renderGadget(api, name, cfg, undefined, { issue: ctx.extension?.issue?.key })));
  document.body.dataset.ready = 'true';
}

function inForge(): boolean {
  return typeof (window as unknown as { __bridge?: unknown }).__bridge !== 'undefined';
}

applyThemeFromQuery();
onThemeChange(redrawCharts);
const isAdmin = !inForge() && /^\/admin\/?$/.test(location.pathname); // the PMO's admin page (src/admin/)
(isAdmin ? import('./admin/entry').then((m) => m.startAdminHttp(app)) : inForge() ? forge() : standalone()).catch((e) => {
  app.replaceChildren(message(`Baton failed to start: ${(e as Error).message}`, 'error'));
  document.body.dataset.ready = 'error';
});
