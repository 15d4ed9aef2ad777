// Light/dark: Jira sets `data-color-mode` on <html> (Forge `view.theme.enable()`); elsewhere the
// browser's prefers-color-scheme decides, and `?theme=dark|light` forces one (DC gadgets, tests).
export function applyThemeFromQuery(): void {
  const t = new URLSearchParams(location.search).get('theme');
  if (t === 'dark' || t === 'light') document.documentElement.setAttribute('data-color-mode', t);
}

export function isDark(): boolean {
  const mode = document.documentElement.getAttribute('data-color-mode');
  if (mode === 'dark') return true;
  if (mode === 'light') return false;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
}

export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function onThemeChange(cb: () => void): void {
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', cb);
  new MutationObserver(cb).observe(document.documentElement, { attributes: true, attributeFilter: ['data-color-mode', 'data-theme'] });
}
