// Search: an event id or an idempotency key → the event's lifecycle (received → partition/offset →
// stored or dead-lettered → replayed, from the database) beside its trace as a span waterfall (from
// Jaeger's query API through the graphql service), with a link to the trace in a full Jaeger UI.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../gql';
import type { SearchEventQuery } from '../gql/graphql';
import { JsonView } from '../components/JsonView';
import { Empty, ErrorBox, Id, Loading, StatusTag, Time } from '../components/common';
import { formatDuration, humanize, isUuid } from '../lib/format';
import { href, navigate, useUrlState } from '../lib/router';
import { waterfall } from '../lib/trace';
import { usePrefs } from '../lib/prefs';
import { formatTimestamp } from '../lib/format';

const SearchQuery = graphql(`
  query SearchEvent($q: String!, $id: UUID!, $isId: Boolean!, $tenantId: UUID) {
    event(eventId: $id, tenantId: $tenantId) @include(if: $isId) {
      ...EventDetail
    }
    eventsByIdempotencyKey(key: $q, tenantId: $tenantId) {
      ...EventDetail
    }
  }
  fragment EventDetail on Event {
    eventId
    tenantId
    tenantName
    eventType
    source
    idempotencyKey
    occurredAt
    receivedAt
    processedAt
    payload
    status
    kafkaTopic
    kafkaPartition
    kafkaOffset
    traceId
    traceUrl
    lifecycle {
      stage
      at
      topic
      partition
      offset
      detail
    }
    deadLetter {
      reason
      status
      errors {
        path
        message
      }
      body
      attempts
    }
    trace {
      traceId
      url
      spans {
        spanId
        parentSpanId
        service
        name
        kind
        startMicros
        durationMicros
        error
        attributes
        events
      }
    }
  }
`);

type Ev = NonNullable<SearchEventQuery['event']>;
type Span = NonNullable<Ev['trace']>['spans'][number];
const NIL = '00000000-0000-0000-0000-000000000000';

export function Search() {
  const [params, setParams] = useUrlState();
  const q = (params.get('q') ?? '').trim();
  const tenantId = params.get('tenant') || null;
  const pick = params.get('event');
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!q) input.current?.focus();
  }, [q]);

  const isId = isUuid(q);
  const [{ data, error, fetching }, refetch] = useQuery({
    query: SearchQuery,
    variables: { q, id: isId ? q : NIL, isId, tenantId },
    pause: !q,
    requestPolicy: 'network-only',
  });

  const found: Ev[] = useMemo(() => {
    if (!data) return [];
    const list: Ev[] = [];
    if (data.event) list.push(data.event);
    for (const e of data.eventsByIdempotencyKey) if (!list.some((x) => x.eventId === e.eventId && x.tenantId === e.tenantId)) list.push(e);
    return list;
  }, [data]);
  const current = found.find((e) => e.eventId === pick) ?? found[0];

  return (
    <div className="view">
      <form
        className="toolbar search-bar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setParams({ q: text.trim() || null, event: null });
        }}
      >
        <h2>Search</h2>
        <label htmlFor="search-q" className="sr-only">
          Event id or idempotency key
        </label>
        <input
          id="search-q"
          ref={input}
          data-search
          className="mono grow"
          placeholder="event id (uuid) or idempotency key — press / to focus"
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
        />
        <button type="submit" className="btn primary">
          Search
        </button>
      </form>
      {!q ? (
        <Empty title="Find an event by its id or its idempotency key">
          <p>The event id is what ingest answered (<code>{'{"event_id":…}'}</code>); the idempotency key is the <code>Idempotency-Key</code> header the client sent. Dead letters link here too.</p>
        </Empty>
      ) : null}
      {q && error && !data ? <ErrorBox error={error} what="the search" retry={() => refetch({ requestPolicy: 'network-only' })} /> : null}
      {q && fetching && !data ? <Loading what="the event" /> : null}
      {q && data && found.length === 0 ? (
        <Empty title={`Nothing found for “${q}”`}>
          <p>
            {isId ? 'No event with this id, and no idempotency key equal to it.' : 'No event carries this idempotency key.'} An event accepted a moment ago may still be in Kafka: its lifecycle appears once
            the processor has handled it. Keys are kept as long as the event is.
          </p>
          <button type="button" className="btn" onClick={() => refetch({ requestPolicy: 'network-only' })}>
            Search again
          </button>
        </Empty>
      ) : null}
      {found.length > 1 ? (
        <nav className="panel" aria-label="Matching events">
          <p className="small">{found.length} events match (an idempotency key is per tenant):</p>
          <ul className="inline-list">
            {found.map((e) => (
              <li key={`${e.tenantId}${e.eventId}`}>
                <button type="button" className="btn small" aria-pressed={current === e} onClick={() => setParams({ event: e.eventId }, true)}>
                  {e.tenantName ?? e.tenantId} · {e.eventType ?? '?'} · <span className="mono">{e.eventId.slice(0, 8)}</span>
                </button>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      {current ? <EventPage ev={current} /> : null}
    </div>
  );
}

function EventPage({ ev }: { ev: Ev }) {
  return (
    <div className="event-page" data-testid="event-page">
      <section className="panel">
        <div className="panel-head">
          <h3>
            {ev.eventType ?? 'event'} <StatusTag status={ev.status} />
          </h3>
        </div>
        <dl className="kv wide">
          <dt>Event id</dt>
          <dd>
            <Id value={ev.eventId} full />
          </dd>
          <dt>Tenant</dt>
          <dd>
            {ev.tenantName ?? ''} <Id value={ev.tenantId} />
          </dd>
          <dt>Idempotency key</dt>
          <dd className="mono">{ev.idempotencyKey ?? '—'}</dd>
          <dt>Source</dt>
          <dd>{ev.source ?? '—'}</dd>
          <dt>Occurred</dt>
          <dd>
            <Time iso={ev.occurredAt} absolute />
          </dd>
          <dt>Kafka</dt>
          <dd className="mono small">{ev.kafkaPartition !== null && ev.kafkaPartition !== undefined ? `${ev.kafkaTopic ?? 'events.raw'} [${ev.kafkaPartition}] @ ${ev.kafkaOffset}` : '—'}</dd>
          <dt>Trace</dt>
          <dd>
            {ev.traceId ? <Id value={ev.traceId} /> : '—'}{' '}
            {ev.traceUrl ? (
              <a href={ev.traceUrl} target="_blank" rel="noreferrer">
                open in Jaeger ↗
              </a>
            ) : null}
          </dd>
        </dl>
      </section>
      <div className="grid-lifecycle">
        <section className="panel" aria-labelledby="lc-h">
          <h3 id="lc-h">Lifecycle</h3>
          <Lifecycle ev={ev} />
        </section>
        <section className="panel" aria-labelledby="trace-h">
          <h3 id="trace-h">Trace</h3>
          {ev.trace && ev.trace.spans.length > 0 ? (
            <Waterfall spans={ev.trace.spans} />
          ) : (
            <Empty title={ev.traceId ? 'The trace is not in Jaeger' : 'This event has no trace id'}>
              <p>{ev.traceId ? 'It was sampled out, has expired from Jaeger’s memory, or Jaeger is down (`make status`). The lifecycle beside it comes from the database and is complete.' : 'Tracing was off when it was received.'}</p>
            </Empty>
          )}
        </section>
      </div>
      <div className="grid-2">
        <section className="panel" aria-labelledby="payload-h">
          <h3 id="payload-h">Payload</h3>
          {ev.payload !== null && ev.payload !== undefined ? <JsonView value={ev.payload} label="payload" /> : <p className="muted">No payload stored (the event was not stored).</p>}
        </section>
        {ev.deadLetter ? (
          <section className="panel" aria-labelledby="dlq-h">
            <h3 id="dlq-h">
              Dead letter <StatusTag status={ev.deadLetter.status} />
            </h3>
            <p className="small">
              {humanize(ev.deadLetter.reason)} · {ev.deadLetter.attempts} attempt(s) ·{' '}
              <a href={href('/dead-letters', { status: 'any', open: ev.eventId, tenant: ev.tenantId })} onClick={(e) => {
                e.preventDefault();
                navigate(href('/dead-letters', { status: 'any', open: ev.eventId, tenant: ev.tenantId }));
              }}>
                open in Dead letters
              </a>
            </p>
            <JsonView value={ev.deadLetter.body} failingPaths={ev.deadLetter.errors.map((e) => e.path)} label="dead-letter body" />
          </section>
        ) : null}
      </div>
    </div>
  );
}

function Lifecycle({ ev }: { ev: Ev }) {
  const { utc } = usePrefs();
  const first = ev.lifecycle.find((s) => s.at)?.at;
  return (
    <ol className="lifecycle" data-testid="lifecycle">
      {ev.lifecycle.map((s, i) => {
        const since = first && s.at ? Date.parse(s.at) - Date.parse(first) : null;
        return (
          <li key={i} className={`stage ${s.stage.toLowerCase()}`} data-stage={s.stage}>
            <span className="stage-dot" aria-hidden="true" />
            <div>
              <strong>{humanize(s.stage)}</strong>
              {since !== null && i > 0 ? <span className="muted small"> +{formatDuration(since)}</span> : null}
              <div className="small">
                {s.at ? <span title={formatTimestamp(s.at, utc)}>{formatTimestamp(s.at, utc)}</span> : null}
              </div>
              {s.topic || s.partition !== null ? (
                <div className="mono small">
                  {s.topic ?? ''}
                  {s.partition !== null && s.partition !== undefined ? ` [${s.partition}]` : ''}
                  {s.offset !== null && s.offset !== undefined ? ` @ ${s.offset}` : ''}
                </div>
              ) : null}
              {s.detail ? <div className="small">{s.detail}</div> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

const SERVICE_COLORS = ['--c1', '--c2', '--c4', '--c5', '--c6'];

function Waterfall({ spans }: { spans: readonly Span[] }) {
  const { rows, durationMicros } = useMemo(() => waterfall(spans), [spans]);
  const services = useMemo(() => [...new Set(spans.map((s) => s.service))], [spans]);
  const [sel, setSel] = useState<string | null>(null);
  const selected = spans.find((s) => s.spanId === sel);
  return (
    <div className="waterfall" data-testid="waterfall">
      <div className="wf-legend small">
        {services.map((s, i) => (
          <span key={s} className="wf-service">
            <span className="swatch" style={{ background: `var(${SERVICE_COLORS[i % SERVICE_COLORS.length]})` }} aria-hidden="true" /> {s}
          </span>
        ))}
        <span className="muted">total {formatDuration(durationMicros / 1000)}</span>
      </div>
      <ul className="wf-rows">
        {rows.map((r) => {
          const color = `var(${SERVICE_COLORS[services.indexOf(r.span.service) % SERVICE_COLORS.length]})`;
          return (
            <li key={r.span.spanId}>
              <button type="button" className={`wf-row${r.span.error ? ' error' : ''}${sel === r.span.spanId ? ' selected' : ''}`} aria-expanded={sel === r.span.spanId} onClick={() => setSel(sel === r.span.spanId ? null : r.span.spanId)}>
                <span className="wf-name" style={{ paddingLeft: `${r.depth * 14}px` }}>
                  {r.span.error ? <span className="err-mark" aria-label="error">!</span> : null}
                  <span className="small muted">{r.span.service}</span> {r.span.name}
                </span>
                <span className="wf-track" aria-hidden="true">
                  <span className="wf-bar" style={{ left: `${r.offset * 100}%`, width: `${r.width * 100}%`, background: color }} />
                </span>
                <span className="wf-dur small">{formatDuration(r.span.durationMicros / 1000)}</span>
              </button>
            </li>
          );
        })}
      </ul>
      {selected ? (
        <div className="span-detail" data-testid="span-detail">
          <h4>
            {selected.name} <span className="tag neutral">{selected.kind.toLowerCase()}</span> {selected.error ? <span className="tag bad">error</span> : <span className="tag ok">ok</span>}
          </h4>
          <p className="small">
            {selected.service} · span <span className="mono">{selected.spanId}</span> · {formatDuration(selected.durationMicros / 1000)}
          </p>
          <h5>Attributes</h5>
          <JsonView value={selected.attributes} label="span attributes" />
          {Array.isArray(selected.events) && selected.events.length > 0 ? (
            <>
              <h5>Events</h5>
              <JsonView value={selected.events} label="span events" />
            </>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
