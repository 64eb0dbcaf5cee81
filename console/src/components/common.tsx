// Small building blocks every view uses: ids with copy, times with a UTC tooltip, state boxes for
// empty/loading/error, the live badge, dialogs that close on Esc.
import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { explainError } from '../lib/errors';
import { formatRelative, formatTimestamp, truncateMiddle } from '../lib/format';
import { usePrefs } from '../lib/prefs';
import type { SocketStatus } from '../lib/client';
import { navigate } from '../lib/router';

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn-icon"
      aria-label={`${label}: ${text.length > 40 ? 'value' : text}`}
      title={done ? 'Copied' : label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
        } catch {
          const ta = document.createElement('textarea');
          ta.value = text;
          document.body.appendChild(ta);
          ta.select();
          document.execCommand('copy');
          ta.remove();
        }
        setDone(true);
        setTimeout(() => setDone(false), 1200);
      }}
    >
      {done ? (
        '✓'
      ) : (
        <svg width="13" height="13" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
          <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M11 3.5V3a1 1 0 0 0-1-1H3a1 1 0 0 0-1 1v7a1 1 0 0 0 1 1h.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      )}
    </button>
  );
}

/** A monospace id, truncated in the middle, with copy; `to` makes it a link inside the console. */
export function Id({ value, to, full }: { value: string | null | undefined; to?: string; full?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  const text = full ? value : truncateMiddle(value);
  return (
    <span className="id">
      {to ? (
        <a
          href={to}
          className="mono"
          title={value}
          onClick={(e) => {
            if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
            e.preventDefault();
            navigate(to);
          }}
        >
          {text}
        </a>
      ) : (
        <span className="mono" title={value}>
          {text}
        </span>
      )}
      <CopyButton text={value} label="Copy id" />
    </span>
  );
}

/** Internal link that uses the router. */
export function Link({ to, children, className, title }: { to: string; children: ReactNode; className?: string; title?: string }) {
  return (
    <a
      href={to}
      className={className}
      title={title}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(t);
  }, [periodMs]);
  return now;
}

/** "12 s ago" with the absolute time on hover (UTC or local, per the switch). */
export function Time({ iso, absolute }: { iso: string | null | undefined; absolute?: boolean }) {
  const { utc } = usePrefs();
  const now = useNow(absolute ? 60000 : 1000);
  if (!iso) return <span className="muted">—</span>;
  const abs = formatTimestamp(iso, utc);
  return (
    <time dateTime={iso} title={abs}>
      {absolute ? abs : formatRelative(iso, now)}
    </time>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

export function ErrorBox({ error, what, retry }: { error: CombinedError | Error; what: string; retry?: () => void }) {
  const e = explainError(error, what);
  return (
    <div className="state error" role="alert">
      <p className="state-title">
        {e.title}
        {e.code ? <span className="code-tag">{e.code}</span> : null}
      </p>
      {e.hint ? <p>{renderHint(e.hint)}</p> : null}
      {retry ? (
        <button type="button" className="btn" onClick={retry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

/** Renders `backticked` parts of a hint as code. */
export function renderHint(hint: string): ReactNode {
  const parts = hint.split('`');
  return parts.map((p, i) => (i % 2 ? <code key={i}>{p}</code> : <span key={i}>{p}</span>));
}

/** Copyable command block. */
export function Command({ text }: { text: string }) {
  return (
    <div className="command">
      <pre className="mono">{text}</pre>
      <CopyButton text={text} label="Copy command" />
    </div>
  );
}

function useSocketState(status: SocketStatus) {
  return useSyncExternalStore(
    (l) => status.subscribe(l),
    () => status.state,
  );
}

/** "● live · updated 10:00:01" / "paused" / "reconnecting…" */
export function LiveBadge({ status, lastUpdate, paused }: { status: SocketStatus; lastUpdate: number | null; paused?: boolean }) {
  const state = useSocketState(status);
  const { utc } = usePrefs();
  const now = useNow(1000);
  const stale = lastUpdate !== null && now - lastUpdate > 5000;
  let cls = 'live';
  let text = 'live';
  if (paused) {
    cls = 'paused';
    text = 'paused';
  } else if (state === 'reconnecting' || state === 'closed') {
    cls = 'down';
    text = state === 'closed' ? 'disconnected — retrying' : 'reconnecting…';
  } else if (state === 'connecting' || lastUpdate === null) {
    cls = 'waiting';
    text = 'connecting…';
  } else if (stale) {
    cls = 'stale';
    text = 'stale';
  }
  return (
    <span className={`badge live-badge ${cls}`} data-testid="live-badge" data-state={cls} role="status">
      <span className="dot" aria-hidden="true" />
      {text}
      {lastUpdate ? (
        <span className="muted small">
          {' '}
          · updated {formatTimestamp(new Date(lastUpdate), utc).slice(11, 19)}
          {utc ? ' UTC' : ''}
        </span>
      ) : null}
    </span>
  );
}

/** A modal dialog: focus moves in, Esc closes, focus returns on close. */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose(): void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, textarea, select, button:not(.dialog-close)');
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        onClose();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`dialog${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} ref={ref} tabIndex={-1}>
        <div className="dialog-head">
          <h2>{title}</h2>
          <button type="button" className="btn-icon dialog-close" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export function StatusTag({ status }: { status: string }) {
  const s = status.toUpperCase();
  const cls =
    s === 'UP' || s === 'STORED' || s === 'REPLAYED' || s === 'OK'
      ? 'ok'
      : s === 'DEGRADED' || s === 'PENDING' || s === 'ACCEPTED' || s === 'PUBLISHED' || s === 'RECEIVED'
        ? 'warn'
        : s === 'DISCARDED'
          ? 'neutral'
          : 'bad';
  return <span className={`tag ${cls}`}>{status.toLowerCase().replace(/_/g, ' ')}</span>;
}

export function Stat({ label, value, sub, testId }: { label: string; value: ReactNode; sub?: ReactNode; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub ? <div className="stat-sub">{sub}</div> : null}
    </div>
  );
}
