// Display formats. Inputs are the API's already-rounded values; nothing here rounds data again
// except turning a 4-decimal ratio into a 2-decimal percentage (exact for 4-decimal inputs).
export const DASH = '—';

export function pct(v: number | null | undefined): string {
  if (v === null || v === undefined) return DASH;
  return `${(v * 100).toFixed(2)}%`;
}

export function score(v: number | null | undefined): string {
  if (v === null || v === undefined) return DASH;
  return v.toFixed(1);
}

export function count(v: number | null | undefined): string {
  if (v === null || v === undefined) return DASH;
  return String(v);
}

/** Working seconds -> "1d 2h 5m" style (8h working days are not assumed: hours stay hours). */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return DASH;
  const neg = seconds < 0;
  let s = Math.abs(Math.trunc(seconds));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  const text = h ? (m ? `${h}h ${m}m` : `${h}h`) : `${m}m`;
  return neg ? `-${text}` : text;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const STATE_LABEL: Record<string, string> = {
  at_risk: 'At risk',
  breached: 'Breached',
  met: 'Met',
  running: 'On track',
  none: 'No goal',
};
