// Live tail of accepted events. Events arrive over graphql-ws into a capped buffer (TailBuffer) and
// are rendered once per animation frame into at most ROW_CAP rows, so 2,000 events/s do not block the
// page; what the server skipped (`missedBefore`) and what the console threw away are shown as
// "N dropped". Filters (tenant, event types) go to the server; the text filter is applied here.
import { memo, useEffect, useMemo, useRef, useState } from 'react';
import { stringifyDocument } from '@urql/core';
import { graphql } from '../gql';
import type { LiveTailSubscription } from '../gql/graphql';
import { Id, Link, LiveBadge } from '../components/common';
import { JsonView } from '../components/JsonView';
import { formatNumber, formatRate, formatTimestamp, truncateMiddle } from '../lib/format';
import { TailBuffer, mergeRows } from '../lib/tailBuffer';
import { useTenantNames } from '../lib/hooks';
import { href, useUrlState } from '../lib/router';
import { useSession } from '../lib/session';
import { usePrefs } from '../lib/prefs';

const LiveTailDoc = graphql(`
  subscription LiveTail($filter: LiveEventFilter) {
    events(filter: $filter) {
      eventId
      tenantId
      tenantName
      eventType
      source
      idempotencyKey
      receivedAt
      traceId
      missedBefore
      payload
    }
  }
`);
const LIVE_TAIL_QUERY = stringifyDocument(LiveTailDoc);

type TailEvent = LiveTailSubscription['events'];

export const ROW_CAP = 200;
/** Rows drawn while live (about two screens); all ROW_CAP rows are drawn when paused, to scroll through. */
const LIVE_ROWS = 30;
/** Events kept waiting for the next render: 2.5 s at 2,000 events/s (a hidden tab gets no frames). */
const QUEUE_CAP = 5000;
const RENDER_EVERY_MS = 100;

export function LiveTail() {
  const session = useSession();
  const admin = session.role === 'ADMIN';
  const tenants = useTenantNames();
  const [params, setParams] = useUrlState();
  const tenantId = admin ? params.get('tenant') || null : session.tenantId;
  const typesParam = params.get('types') ?? '';
  const eventTypes = useMemo(() => typesParam.split(',').map((s) => s.trim()).filter(Boolean), [typesParam]);
  const text = params.get('q') ?? '';
  const [typesInput, setTypesInput] = useState(typesParam);
  useEffect(() => setTypesInput(typesParam), [typesParam]);

  const [rows, setRows] = useState<TailEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  const [counts, setCounts] = useState({ received: 0, serverDropped: 0, clientDropped: 0, rate: 0 });
  const [lastUpdate, setLastUpdate] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<TailEvent | null>(null);
  const buffer = useMemo(() => new TailBuffer<TailEvent>(QUEUE_CAP), []);

  // one subscription per filter; events go to the buffer, not to React
  useEffect(() => {
    buffer.reset();
    setRows([]);
    setError(null);
    const variables = { filter: { tenantId, eventTypes: eventTypes.length ? eventTypes : null } };
    const stop = session.clients.ws.subscribe<{ events: TailEvent }>(
      { query: LIVE_TAIL_QUERY, variables },
      {
        next: (msg) => {
          if (msg.data) buffer.push(msg.data.events);
          else if (msg.errors) setError(msg.errors[0]?.message ?? 'subscription error');
        },
        error: (e) => setError(e instanceof Error ? e.message : (e as CloseEvent)?.reason || 'the live feed failed; reconnecting'),
        complete: () => {},
      },
    );
    setLastUpdate(Date.now());
    return () => stop();
  }, [session.clients.ws, buffer, tenantId, eventTypes]);

  // drain on animation frames, committing to React at most every RENDER_EVERY_MS: a frame's worth of
  // rows at 2,000 events/s is unreadable anyway, and fewer commits keep every task short
  useEffect(() => {
    let raf = 0;
    let windowStart = performance.now();
    let lastCommit = 0;
    let lastReceived = 0;
    let rate = 0;
    const frame = () => {
      raf = requestAnimationFrame(frame);
      const now = performance.now();
      if (now - windowStart >= 1000) {
        const st = buffer.stats;
        rate = ((st.received - lastReceived) * 1000) / (now - windowStart);
        lastReceived = st.received;
        windowStart = now;
        setCounts({ ...st, rate });
        setLastUpdate(Date.now());
      }
      if (pausedRef.current || buffer.pending === 0 || now - lastCommit < RENDER_EVERY_MS) return;
      lastCommit = now;
      const batch = buffer.drain();
      setRows((r) => mergeRows(r, batch, ROW_CAP));
      setCounts({ ...buffer.stats, rate });
    };
    raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [buffer]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(null);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const visible = useMemo(() => {
    const t = text.trim().toLowerCase();
    const limit = paused ? ROW_CAP : LIVE_ROWS;
    if (!t) return rows.length > limit ? rows.slice(0, limit) : rows;
    return rows.filter((r) => r.eventId.includes(t) || (r.eventType ?? '').toLowerCase().includes(t) || (r.source ?? '').toLowerCase().includes(t) || (r.idempotencyKey ?? '').toLowerCase().includes(t)).slice(0, limit);
  }, [rows, text, paused]);
  const dropped = counts.serverDropped + counts.clientDropped;
  const waiting = paused ? buffer.pending : 0;

  return (
    <div className="view">
      <div className="toolbar">
        <h2>Live tail</h2>
        <LiveBadge status={session.clients.status} lastUpdate={lastUpdate} paused={paused} />
        <span className="small" data-testid="tail-rate">
          {formatRate(counts.rate)}
        </span>
        <span className="small" data-testid="tail-received">
          {formatNumber(counts.received)} received
        </span>
        <span className={`small${dropped ? ' warn-text' : ''}`} data-testid="tail-dropped" title={`${formatNumber(counts.serverDropped)} skipped by the server (this subscriber fell behind), ${formatNumber(counts.clientDropped)} by the console (too fast to show, or paused)`}>
          {formatNumber(dropped)} dropped
        </span>
        {paused ? (
          <span className="small" data-testid="tail-waiting">
            {formatNumber(waiting)} waiting (kept up to {formatNumber(QUEUE_CAP)})
          </span>
        ) : null}
        <div className="spacer" />
        <button type="button" className="btn primary" aria-pressed={paused} onClick={() => setPaused((p) => !p)} data-testid="pause">
          {paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
      </div>
      <div className="toolbar filters">
        {admin ? (
          <label className="inline">
            Tenant{' '}
            <select value={tenantId ?? ''} onChange={(e) => setParams({ tenant: e.target.value || null })}>
              <option value="">All tenants</option>
              {tenants.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setParams({ types: typesInput.split(',').map((s) => s.trim()).filter(Boolean).join(',') || null });
          }}
        >
          <label htmlFor="tail-types">Event types</label>{' '}
          <input id="tail-types" className="mono" placeholder="order.created, user.signup" value={typesInput} onChange={(e) => setTypesInput(e.target.value)} />{' '}
          <button type="submit" className="btn">
            Apply
          </button>
        </form>
        <label className="inline">
          Find{' '}
          <input data-search className="mono" placeholder="text in type, id, source, key" value={text} onChange={(e) => setParams({ q: e.target.value || null }, true)} />
        </label>
      </div>
      {error ? (
        <div className="state error" role="alert">
          <p className="state-title">The live feed reported: {error}</p>
          <p>It reconnects by itself; if it does not, the graphql service may be down — run `make up`.</p>
        </div>
      ) : null}
      <div className="grid-tail">
        <section className="panel tail-panel" aria-label="Live events">
          {rows.length === 0 ? (
            <div className="state empty">
              <p className="state-title">{paused ? 'Paused' : 'Waiting for events…'}</p>
              <p>Accepted events appear here the moment ingest acknowledges them. Send one with a tenant key:</p>
              <pre className="mono small">{`curl -sS localhost:8080/events -H 'X-API-Key: <tenant key>' -H 'Content-Type: application/json' -d '{"event_type":"order.created","payload":{"id":1}}'`}</pre>
            </div>
          ) : (
            <table className="table sticky tail" data-testid="tail">
              <thead>
                <tr>
                  <th scope="col">Received</th>
                  <th scope="col">Event type</th>
                  <th scope="col">Event id</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">Source</th>
                  <th scope="col">
                    <span className="sr-only">Details</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {visible.map((r) => (
                  <Row key={r.eventId} ev={r} onOpen={setOpen} isOpen={open?.eventId === r.eventId} />
                ))}
              </tbody>
            </table>
          )}
          <p className="muted small">
            Newest first. Live, the newest {LIVE_ROWS} are drawn, 10 times a second; pause to scroll through the last {ROW_CAP}. At high rates most events pass unseen — “dropped” counts only events the console never received or could not keep.
          </p>
        </section>
        {open ? (
          <aside className="panel tail-detail" aria-label="Event details">
            <div className="panel-head">
              <h3>{open.eventType ?? 'event'}</h3>
              <button type="button" className="btn-icon" aria-label="Close details" onClick={() => setOpen(null)}>
                ✕
              </button>
            </div>
            <p>
              <Id value={open.eventId} to={href('/search', { q: open.eventId, tenant: open.tenantId })} />
            </p>
            <JsonView value={open.payload} label="payload" />
          </aside>
        ) : null}
      </div>
    </div>
  );
}

// Rows are plain text and one link (the copy button lives in the details panel): hundreds of rows are
// replaced every second under load.
const Row = memo(function Row({ ev, onOpen, isOpen }: { ev: TailEvent; onOpen(e: TailEvent): void; isOpen: boolean }) {
  const { utc } = usePrefs();
  const ts = formatTimestamp(ev.receivedAt, utc);
  const to = href('/search', { q: ev.eventId, tenant: ev.tenantId });
  return (
    <tr className={isOpen ? 'selected' : ''}>
      <td className="small mono" title={ts}>
        {ts.slice(11, 23)}
      </td>
      <td className="mono small">{ev.eventType ?? '—'}</td>
      <td>
        <Link to={to} className="mono small" title={ev.eventId}>
          {truncateMiddle(ev.eventId)}
        </Link>
      </td>
      <td className="small">{ev.tenantName ?? ev.tenantId.slice(0, 8)}</td>
      <td className="small">{ev.source ?? ''}</td>
      <td>
        <button type="button" className="btn small" aria-expanded={isOpen} onClick={() => onOpen(ev)}>
          JSON
        </button>
      </td>
    </tr>
  );
});
