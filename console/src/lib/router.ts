// A small router on the History API: the path picks the view, the query string holds its filters, so
// a link reproduces a view and back/forward work. (A router library would add weight to the first
// load for seven flat routes.)
import { useCallback, useSyncExternalStore } from 'react';

export type ViewName = 'overview' | 'pipeline' | 'dead-letters' | 'search' | 'live' | 'tenants' | 'sign-in';

export const VIEWS: Array<{ name: ViewName; path: string; label: string; adminOnly?: boolean }> = [
  { name: 'overview', path: '/', label: 'Overview' },
  { name: 'pipeline', path: '/pipeline', label: 'Pipeline', adminOnly: true },
  { name: 'dead-letters', path: '/dead-letters', label: 'Dead letters' },
  { name: 'search', path: '/search', label: 'Search' },
  { name: 'live', path: '/live', label: 'Live tail' },
  { name: 'tenants', path: '/tenants', label: 'Tenants' },
];

export function viewOf(pathname: string): ViewName | null {
  const p = pathname.replace(/\/+$/, '') || '/';
  if (p === '/sign-in') return 'sign-in';
  const v = VIEWS.find((x) => x.path === p);
  return v ? v.name : null;
}

const listeners = new Set<() => void>();
let snapshot = location.pathname + location.search;

function emit() {
  snapshot = location.pathname + location.search;
  listeners.forEach((l) => l());
}

window.addEventListener('popstate', emit);

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Navigates to `to` (path with optional query). `replace` keeps history clean for typing. */
export function navigate(to: string, replace = false): void {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  emit();
}

export function useLocation(): { pathname: string; params: URLSearchParams } {
  const snap = useSyncExternalStore(subscribe, () => snapshot);
  const q = snap.indexOf('?');
  return { pathname: q >= 0 ? snap.slice(0, q) : snap, params: new URLSearchParams(q >= 0 ? snap.slice(q) : '') };
}

/** Builds `path?query` from a params object, leaving out empty values. */
export function href(path: string, params: Record<string, string | number | boolean | null | undefined> = {}): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '' || v === false) continue;
    sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `${path}?${s}` : path;
}

/** The view's URL state: read params, and set some of them (push by default, replace when asked). */
export function useUrlState(): [URLSearchParams, (patch: Record<string, string | null | undefined>, replace?: boolean) => void] {
  const { pathname, params } = useLocation();
  const set = useCallback(
    (patch: Record<string, string | null | undefined>, replace = false) => {
      const sp = new URLSearchParams(location.search);
      for (const [k, v] of Object.entries(patch)) {
        if (v === null || v === undefined || v === '') sp.delete(k);
        else sp.set(k, v);
      }
      const s = sp.toString();
      navigate(s ? `${pathname}?${s}` : pathname, replace);
    },
    [pathname],
  );
  return [params, set];
}
