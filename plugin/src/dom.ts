// Minimal DOM builder: text is always set as text (never innerHTML), so data cannot inject markup.
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A number as shown, with the API's raw value in `data-value` (what the browser tests compare). */
export function num(field: string, raw: unknown, text: string, cls = ''): HTMLElement {
  return h('span', { class: `num ${cls}`.trim(), 'data-field': field, 'data-value': JSON.stringify(raw ?? null) }, text);
}

export function safeHref(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}

export function card(title: string, name: string, ...body: Child[]): HTMLElement {
  return h('section', { class: 'gadget', 'data-gadget': name, 'aria-label': title }, h('h2', { class: 'gadget-title' }, title), ...body);
}

export function message(text: string, kind: 'muted' | 'error' = 'muted'): HTMLElement {
  return h('p', { class: kind, role: kind === 'error' ? 'alert' : null }, text);
}
