// Formatting shared by every view: numbers with thousands separators, rates with units, durations
// with sensible rounding, relative times with the absolute UTC time for a tooltip, ids truncated in the
// middle. Pure functions (tested in tests/unit/format.test.ts).

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 1234567 → "1,234,567"; null/undefined → "—". */
export function formatNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return Math.abs(n) < 10 && !Number.isInteger(n) ? twoDecimals.format(n) : intFmt.format(n);
}

/** Events per second with a unit: 0.25 → "0.25 events/s", 1234.4 → "1,234 events/s". */
export function formatRate(perSecond: number | null | undefined, unit = 'events/s'): string {
  if (perSecond === null || perSecond === undefined || Number.isNaN(perSecond)) return '—';
  const v = perSecond >= 100 ? intFmt.format(perSecond) : perSecond >= 10 ? oneDecimal.format(perSecond) : twoDecimals.format(perSecond);
  return `${v} ${unit}`;
}

/** 0.0123 → "1.23 %". */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  const pct = ratio * 100;
  if (pct === 0) return '0 %';
  if (pct > 0 && pct < 0.01) return '<0.01 %';
  return `${pct < 10 ? twoDecimals.format(pct) : oneDecimal.format(pct)} %`;
}

/** Milliseconds → "0.4 ms", "850 ms", "1.2 s", "42 s", "3 min 4 s", "2 h 5 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const a = Math.abs(ms);
  if (a < 1) return `${twoDecimals.format(ms)} ms`;
  if (a < 10) return `${oneDecimal.format(ms)} ms`;
  if (a < 1000) return `${intFmt.format(ms)} ms`;
  const s = ms / 1000;
  if (Math.abs(s) < 10) return `${oneDecimal.format(s)} s`;
  if (Math.abs(s) < 60) return `${intFmt.format(s)} s`;
  const totalS = Math.round(Math.abs(s));
  const sign = ms < 0 ? '-' : '';
  if (totalS < 3600) {
    const m = Math.floor(totalS / 60);
    const r = totalS % 60;
    return r ? `${sign}${m} min ${r} s` : `${sign}${m} min`;
  }
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  return m ? `${sign}${h} h ${m} min` : `${sign}${h} h`;
}

/** Seconds (lag) → duration text. */
export function formatSeconds(s: number | null | undefined): string {
  return s === null || s === undefined ? '—' : formatDuration(s * 1000);
}

/** "12 s ago", "3 min ago", "in 5 s"; `now` is injectable for tests. */
export function formatRelative(iso: string | Date | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = typeof iso === 'string' ? Date.parse(iso) : iso.getTime();
  if (Number.isNaN(t)) return '—';
  const diff = Math.round((now - t) / 1000);
  const a = Math.abs(diff);
  let text: string;
  if (a < 2) return 'just now';
  if (a < 60) text = `${a} s`;
  else if (a < 3600) text = `${Math.floor(a / 60)} min`;
  else if (a < 86400) text = `${Math.floor(a / 3600)} h`;
  else text = `${Math.floor(a / 86400)} d`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Absolute time: "2026-12-01 10:00:00.123 UTC" or the local equivalent. */
export function formatTimestamp(iso: string | Date | null | undefined, utc = true): string {
  if (!iso) return '—';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return '—';
  if (utc) {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
      d.getUTCMinutes(),
    )}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} UTC`;
  }
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(
    d.getSeconds(),
  )}.${pad(d.getMilliseconds(), 3)}`;
}

/** Clock time only: "10:00:00" (UTC or local). */
export function formatClock(iso: string | Date | number, utc = true): string {
  const d = iso instanceof Date ? iso : new Date(iso);
  return utc
    ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
    : `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "0199a2b4-…-7c1e" style: keep `head` and `tail` characters. */
export function truncateMiddle(id: string | null | undefined, head = 8, tail = 4): string {
  if (!id) return '—';
  if (id.length <= head + tail + 1) return id;
  return `${id.slice(0, head)}…${id.slice(-tail)}`;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s.trim());
}

/** "MISSING_FIELD" → "missing field". */
export function humanize(code: string | null | undefined): string {
  if (!code) return '—';
  return code.toLowerCase().replace(/_/g, ' ');
}
