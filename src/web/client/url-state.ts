/** The view's state in the URL's fragment (the token stays in the query): window, selection, search, filters. */

export interface ViewState {
  t0?: number;
  t1?: number;
  /** The selected event's ref. */
  sel?: string;
  q?: string;
  task?: string;
  cpu?: string;
}

export function encodeState(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.t0 !== undefined && s.t1 !== undefined) {
    p.set('t0', String(Math.round(s.t0)));
    p.set('t1', String(Math.round(s.t1)));
  }
  for (const k of ['sel', 'q', 'task', 'cpu'] as const) if (s[k]) p.set(k, s[k]!);
  return p.toString();
}

export function decodeState(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const s: ViewState = {};
  const t0 = Number(p.get('t0'));
  const t1 = Number(p.get('t1'));
  if (p.has('t0') && p.has('t1') && Number.isFinite(t0) && Number.isFinite(t1) && t1 > t0) {
    s.t0 = t0;
    s.t1 = t1;
  }
  for (const k of ['sel', 'q', 'task', 'cpu'] as const) {
    const v = p.get(k);
    if (v) s[k] = v;
  }
  return s;
}
