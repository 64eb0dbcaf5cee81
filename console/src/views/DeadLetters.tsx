// Dead letters: grouped by cause with counts; each letter's JSON with the failing paths highlighted;
// filters in the URL; select → dry run → replay; edit one body and replay it; discard. Live: new dead
// letters (the `deadLetters` subscription) refresh the list.
import { Fragment, useEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';
import type { DeadLetterFilter, DeadLettersQuery, DlqReason, DeadLetterStatus } from '../gql/graphql';
import { JsonView } from '../components/JsonView';
import { Histogram } from '../components/Histogram';
import { Command, Dialog, Empty, ErrorBox, Id, LiveBadge, Loading, StatusTag, Time } from '../components/common';
import { explainError } from '../lib/errors';
import { formatNumber, humanize } from '../lib/format';
import { useInterval, useTenantNames } from '../lib/hooks';
import { parseJson } from '../lib/schemaCheck';
import { download, toCsv } from '../lib/download';
import { href, useUrlState } from '../lib/router';
import { useSession } from '../lib/session';

const DL_FIELDS = graphql(`
  fragment DeadLetterFields on DeadLetter {
    eventId
    tenantId
    tenantName
    reason
    errors {
      path
      message
    }
    body
    bodyText
    bodyStoredAsText
    idempotencyKey
    receivedAt
    failedAt
    attempts
    status
    sourceTopic
    sourcePartition
    sourceOffset
    replayedAt
    traceId
    traceUrl
  }
`);
void DL_FIELDS;

const DeadLettersQueryDoc = graphql(`
  query DeadLetters($filter: DeadLetterFilter, $first: Int, $after: String) {
    deadLetters(filter: $filter, first: $first, after: $after) {
      nodes {
        ...DeadLetterFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const GroupsQuery = graphql(`
  query DeadLetterGroups($filter: DeadLetterFilter) {
    deadLetterGroups(filter: $filter) {
      reason
      path
      count
      pending
      firstSeen
      lastSeen
    }
  }
`);

const DeadLetterMinutes = graphql(`
  query DeadLetterMinutes($tenantId: UUID) {
    stats(window: "1h", tenantId: $tenantId) {
      series {
        minute
        deadLettered
      }
    }
  }
`);

const NewDeadLetters = graphql(`
  subscription NewDeadLetters($filter: LiveDeadLetterFilter) {
    deadLetters(filter: $filter) {
      eventId
      missedBefore
    }
  }
`);

const ReplayMutation = graphql(`
  mutation ReplayDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!, $body: JSON) {
    replayDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun, body: $body) {
      dryRun
      matched
      replayed
      eventIds
      auditId
    }
  }
`);

const DiscardMutation = graphql(`
  mutation DiscardDeadLetters($ids: [UUID!], $filter: DeadLetterFilter, $dryRun: Boolean!) {
    discardDeadLetters(ids: $ids, filter: $filter, dryRun: $dryRun) {
      dryRun
      matched
      discarded
      eventIds
      auditId
    }
  }
`);

const REASONS: DlqReason[] = ['MISSING_FIELD', 'INVALID_TYPE', 'INVALID_VALUE', 'SCHEMA_VIOLATION', 'MALFORMED_ENVELOPE'];
const STATUSES: DeadLetterStatus[] = ['PENDING', 'REPLAYED', 'DISCARDED'];
const PAGE = 50;
const SINCE: Record<string, number> = { '15m': 900, '1h': 3600, '24h': 86400, '7d': 604800 };

type Letter = DeadLettersQuery['deadLetters']['nodes'][number];
type Action = { kind: 'replay' | 'discard'; ids: string[] | null; body?: unknown; label: string };

export function DeadLetters() {
  const session = useSession();
  const admin = session.role === 'ADMIN';
  const [params, setParams] = useUrlState();
  const tenants = useTenantNames();
  const reason = REASONS.includes(params.get('reason') as DlqReason) ? (params.get('reason') as DlqReason) : null;
  const status: DeadLetterStatus | null = params.get('status') === 'any' ? null : STATUSES.includes(params.get('status') as DeadLetterStatus) ? (params.get('status') as DeadLetterStatus) : 'PENDING';
  const path = params.get('path') || null;
  const tenantId = admin ? params.get('tenant') || null : session.tenantId;
  const open = params.get('open');

  const since = SINCE[params.get('since') ?? ''] ? params.get('since')! : '';
  // one minute picked on the histogram, or a window ending now whose start is fixed when chosen (a
  // moving "now" would refetch every render)
  const minute = params.get('minute') && !Number.isNaN(Date.parse(params.get('minute')!)) ? params.get('minute')! : null;
  const from = useMemo(() => (minute ? minute : since ? new Date(Date.now() - SINCE[since] * 1000).toISOString() : null), [since, minute]);
  const to = useMemo(() => (minute ? new Date(Date.parse(minute) + 60000).toISOString() : null), [minute]);
  const baseFilter: DeadLetterFilter = useMemo(() => ({ tenantId, status, from, to }), [tenantId, status, from, to]);
  const [minutes, refetchMinutes] = useQuery({ query: DeadLetterMinutes, variables: { tenantId } });
  const filter: DeadLetterFilter = useMemo(() => ({ ...baseFilter, reasons: reason ? [reason] : null, path }), [baseFilter, reason, path]);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors[cursors.length - 1];
  useEffect(() => setCursors([null]), [filter]);

  const [list, refetchList] = useQuery({ query: DeadLettersQueryDoc, variables: { filter, first: PAGE, after } });
  const [groups, refetchGroups] = useQuery({ query: GroupsQuery, variables: { filter: baseFilter } });

  const [selected, setSelected] = useState<Set<string>>(new Set());
  useEffect(() => setSelected(new Set()), [filter]);
  const [action, setAction] = useState<Action | null>(null);
  const [editing, setEditing] = useState<Letter | null>(null);

  const dirty = useRef(false);
  const [lastLive, setLastLive] = useState<number | null>(null);
  const [newCount, setNewCount] = useState(0);
  useSubscription({ query: NewDeadLetters, variables: { filter: { tenantId, reasons: reason ? [reason] : null } } }, (_p, d) => {
    dirty.current = true;
    setNewCount((n) => n + 1 + (d.deadLetters.missedBefore ?? 0));
    setLastLive(Date.now());
    return d;
  });
  useEffect(() => setLastLive(Date.now()), []);
  const refresh = () => {
    refetchList({ requestPolicy: 'network-only' });
    refetchGroups({ requestPolicy: 'network-only' });
    refetchMinutes({ requestPolicy: 'network-only' });
  };
  // new letters (from the subscription) refresh the first page within 2 s; a slow poll covers what
  // arrived between the first query and the subscription's start
  const lastRefresh = useRef(Date.now());
  useInterval(() => {
    if (after !== null) return;
    if (dirty.current || Date.now() - lastRefresh.current > 15000) {
      dirty.current = false;
      lastRefresh.current = Date.now();
      refresh();
    }
  }, 2000);

  const letters = list.data?.deadLetters.nodes ?? [];
  // Esc folds the open letter (dialogs handle their own Esc first)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && open && !action && !editing) setParams({ open: null }, true);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open, action, editing, setParams]);
  const exportRows = () =>
    letters.map((l) => ({
      event_id: l.eventId,
      tenant_id: l.tenantId,
      tenant: l.tenantName,
      reason: l.reason,
      first_path: l.errors[0]?.path ?? '',
      first_message: l.errors[0]?.message ?? '',
      status: l.status,
      failed_at: l.failedAt,
      attempts: l.attempts,
      source: `${l.sourceTopic}/${l.sourcePartition}/${l.sourceOffset}`,
      trace_id: l.traceId,
      body: l.bodyStoredAsText ? l.bodyText : l.body,
    }));
  const allSelected = letters.length > 0 && letters.every((l) => selected.has(l.eventId));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <div className="view">
      <div className="toolbar">
        <h2>Dead letters</h2>
        <LiveBadge status={session.clients.status} lastUpdate={lastLive} />
        {newCount > 0 ? <span className="muted small" data-testid="new-dead-letters">{formatNumber(newCount)} new since opened</span> : null}
        <div className="spacer" />
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
        <label className="inline">
          Reason{' '}
          <select value={reason ?? ''} onChange={(e) => setParams({ reason: e.target.value || null, path: null })}>
            <option value="">Any reason</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {humanize(r)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          Status{' '}
          <select value={status ?? 'any'} onChange={(e) => setParams({ status: e.target.value === 'PENDING' ? null : e.target.value })}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {humanize(s)}
              </option>
            ))}
            <option value="any">any status</option>
          </select>
        </label>
        <label className="inline">
          Failed{' '}
          <select value={since} onChange={(e) => setParams({ since: e.target.value || null, minute: null })}>
            <option value="">any time</option>
            {Object.keys(SINCE).map((k) => (
              <option key={k} value={k}>
                in the last {k}
              </option>
            ))}
          </select>
        </label>
        {minute ? (
          <span className="chip">
            failed in the minute <Time iso={minute} absolute />
            <button type="button" className="btn-icon" aria-label="Clear the minute filter" onClick={() => setParams({ minute: null })}>
              ✕
            </button>
          </span>
        ) : null}
        {path ? (
          <span className="chip">
            path <code>{path}</code>
            <button type="button" className="btn-icon" aria-label="Clear the path filter" onClick={() => setParams({ path: null })}>
              ✕
            </button>
          </span>
        ) : null}
      </div>

      <section className="panel" aria-labelledby="groups-h">
        {minutes.data ? (
          <Histogram
            label="Dead letters per minute, last hour"
            bars={minutes.data.stats.series.map((p) => ({ minute: p.minute, count: p.deadLettered }))}
            selected={minute}
            onPick={(m) => setParams({ minute: m, since: null })}
          />
        ) : null}
        <h3 id="groups-h">Causes</h3>
        {groups.error && !groups.data ? <ErrorBox error={groups.error} what="dead-letter groups" /> : null}
        {groups.data && groups.data.deadLetterGroups.length === 0 ? <p className="muted">No dead letters with these filters.</p> : null}
        {groups.data && groups.data.deadLetterGroups.length > 0 ? (
          <table className="table" data-testid="dl-groups">
            <thead>
              <tr>
                <th scope="col">Reason</th>
                <th scope="col">First failing path</th>
                <th scope="col" className="num">
                  Letters
                </th>
                <th scope="col" className="num">
                  Pending
                </th>
                <th scope="col">First seen</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {groups.data.deadLetterGroups.map((g) => {
                const active = reason === g.reason && (path ?? null) === (g.path ?? null);
                return (
                  <tr key={`${g.reason}${g.path}`} className={active ? 'selected' : ''}>
                    <td>
                      <button type="button" className="linklike" aria-pressed={active} onClick={() => setParams(active ? { reason: null, path: null } : { reason: g.reason, path: g.path ?? null })}>
                        {humanize(g.reason)}
                      </button>
                    </td>
                    <td className="mono">{g.path ?? '—'}</td>
                    <td className="num">{formatNumber(g.count)}</td>
                    <td className="num">{formatNumber(g.pending)}</td>
                    <td>
                      <Time iso={g.firstSeen} />
                    </td>
                    <td>
                      <Time iso={g.lastSeen} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="letters-h">
        <div className="panel-head">
          <h3 id="letters-h">Letters</h3>
          <span className="actions export">
            <button type="button" className="btn small" disabled={letters.length === 0} onClick={() => download('dead-letters.json', JSON.stringify(letters, null, 2), 'application/json')}>
              Export JSON
            </button>
            <button type="button" className="btn small" disabled={letters.length === 0} onClick={() => download('dead-letters.csv', toCsv(exportRows()), 'text/csv')}>
              Export CSV
            </button>
          </span>
          <span className="spacer" />
          {admin ? (
            <div className="actions">
              <button type="button" className="btn primary" disabled={selected.size === 0} onClick={() => setAction({ kind: 'replay', ids: [...selected], label: `${selected.size} selected` })}>
                Replay selected ({selected.size})…
              </button>
              <button type="button" className="btn" disabled={letters.length === 0} onClick={() => setAction({ kind: 'replay', ids: null, label: 'every letter matching the filters' })}>
                Replay all matching…
              </button>
              <button type="button" className="btn danger" disabled={selected.size === 0} onClick={() => setAction({ kind: 'discard', ids: [...selected], label: `${selected.size} selected` })}>
                Discard selected…
              </button>
            </div>
          ) : null}
        </div>
        {list.error && !list.data ? <ErrorBox error={list.error} what="dead letters" retry={refresh} /> : null}
        {list.fetching && !list.data ? <Loading what="dead letters" /> : null}
        {list.data && letters.length === 0 ? (
          <Empty title="No dead letters here">
            <p>{status === 'PENDING' && !reason && !path ? 'Nothing is waiting to be replayed. Send an invalid event to see one here:' : 'Nothing matches these filters. Clear them, or send an invalid event:'}</p>
            <Command text={`curl -sS localhost:8080/events -H 'X-API-Key: <tenant key>' -H 'Content-Type: application/json' -d '{"payload":{"id":1}}'`} />
          </Empty>
        ) : null}
        {letters.length > 0 ? (
          <table className="table sticky" data-testid="dl-list">
            <thead>
              <tr>
                {admin ? (
                  <th scope="col" className="check">
                    <input type="checkbox" aria-label="Select every letter on this page" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(letters.map((l) => l.eventId)))} />
                  </th>
                ) : null}
                <th scope="col">Failed</th>
                <th scope="col">Event id</th>
                <th scope="col">Tenant</th>
                <th scope="col">Reason</th>
                <th scope="col">First error</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">
                  <span className="sr-only">Expand</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {letters.map((l) => {
                const isOpen = open === l.eventId;
                return (
                  <Fragment key={l.eventId}>
                    <tr className={isOpen ? 'expanded' : ''} data-event-id={l.eventId}>
                      {admin ? (
                        <td className="check">
                          <input type="checkbox" aria-label={`Select ${l.eventId}`} checked={selected.has(l.eventId)} onChange={() => toggle(l.eventId)} />
                        </td>
                      ) : null}
                      <td>
                        <Time iso={l.failedAt} />
                      </td>
                      <td>
                        <Id value={l.eventId} to={href('/search', { q: l.eventId, tenant: l.tenantId })} />
                      </td>
                      <td className="small">{l.tenantName ?? <Id value={l.tenantId} />}</td>
                      <td>{humanize(l.reason)}</td>
                      <td className="small">
                        {l.errors[0] ? (
                          <>
                            <code>{l.errors[0].path || '/'}</code> {l.errors[0].message}
                          </>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>
                        <StatusTag status={l.status} />
                      </td>
                      <td className="num">{l.attempts}</td>
                      <td>
                        <button type="button" className="btn small" aria-expanded={isOpen} onClick={() => setParams({ open: isOpen ? null : l.eventId }, true)}>
                          {isOpen ? 'Hide' : 'Show'}
                        </button>
                      </td>
                    </tr>
                    {isOpen ? (
                      <tr className="detail-row">
                        <td colSpan={admin ? 9 : 8}>
                          <LetterDetail letter={l} admin={admin} onEdit={() => setEditing(l)} onAction={(a) => setAction(a)} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        ) : null}
        <div className="pager">
          {cursors.length > 1 ? (
            <button type="button" className="btn" onClick={() => setCursors([null])}>
              ⇤ Newest
            </button>
          ) : null}
          {list.data?.deadLetters.pageInfo.hasNextPage ? (
            <button type="button" className="btn" onClick={() => setCursors((c) => [...c, list.data!.deadLetters.pageInfo.endCursor ?? null])}>
              Older →
            </button>
          ) : null}
        </div>
      </section>

      {action ? (
        <ConfirmAction
          action={action}
          filter={filter}
          onClose={() => setAction(null)}
          onDone={() => {
            setSelected(new Set());
            refresh();
          }}
        />
      ) : null}
      {editing ? (
        <EditAndReplay
          letter={editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            refresh();
          }}
        />
      ) : null}
    </div>
  );
}

function LetterDetail({ letter, admin, onEdit, onAction }: { letter: Letter; admin: boolean; onEdit(): void; onAction(a: Action): void }) {
  const paths = letter.errors.map((e) => e.path);
  return (
    <div className="letter-detail">
      <div className="letter-json">
        {letter.bodyStoredAsText ? (
          <>
            <p className="muted small">The body is not valid JSON for PostgreSQL; shown as text.</p>
            <pre className="json mono">{letter.bodyText}</pre>
          </>
        ) : (
          <JsonView value={letter.body} failingPaths={paths} label="body" />
        )}
      </div>
      <div className="letter-meta">
        <h4>Errors</h4>
        <ul className="errors">
          {letter.errors.map((e, i) => (
            <li key={i}>
              <code>{e.path || '/'}</code> — {e.message}
            </li>
          ))}
        </ul>
        <dl className="kv">
          <dt>Source</dt>
          <dd className="mono small">
            {letter.sourceTopic} [{letter.sourcePartition}] @ {letter.sourceOffset}
          </dd>
          <dt>Received</dt>
          <dd>
            <Time iso={letter.receivedAt} />
          </dd>
          <dt>Failed</dt>
          <dd>
            <Time iso={letter.failedAt} />
          </dd>
          {letter.replayedAt ? (
            <>
              <dt>Replayed</dt>
              <dd>
                <Time iso={letter.replayedAt} />
              </dd>
            </>
          ) : null}
          <dt>Idempotency key</dt>
          <dd className="mono small">{letter.idempotencyKey ?? '—'}</dd>
          <dt>Trace</dt>
          <dd>{letter.traceId ? <Id value={letter.traceId} to={href('/search', { q: letter.eventId, tenant: letter.tenantId })} /> : '—'}</dd>
        </dl>
        {admin && letter.status === 'PENDING' ? (
          <div className="actions">
            <button type="button" className="btn primary" onClick={onEdit}>
              Edit body and replay…
            </button>
            <button type="button" className="btn" onClick={() => onAction({ kind: 'replay', ids: [letter.eventId], label: 'this letter' })}>
              Replay as is…
            </button>
            <button type="button" className="btn danger" onClick={() => onAction({ kind: 'discard', ids: [letter.eventId], label: 'this letter' })}>
              Discard…
            </button>
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** Dry run first (what will happen, with counts), then one deliberate confirmation. */
function ConfirmAction({ action, filter, onClose, onDone }: { action: Action; filter: DeadLetterFilter; onClose(): void; onDone(): void }) {
  const [replayState, replay] = useMutation(ReplayMutation);
  const [discardState, discard] = useMutation(DiscardMutation);
  const [dry, setDry] = useState<{ matched: number; eventIds: string[] } | null>(null);
  const [done, setDone] = useState<{ count: number; auditId?: string | null } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const vars = action.ids ? { ids: action.ids, filter: null } : { ids: null, filter };
  const run = async (dryRun: boolean) => {
    setErr(null);
    if (action.kind === 'replay') {
      const r = await replay({ ...vars, dryRun, body: action.body ?? null });
      if (r.error) return setErr(explainError(r.error, 'replay').title);
      const d = r.data!.replayDeadLetters;
      if (dryRun) setDry({ matched: d.matched, eventIds: d.eventIds });
      else {
        setDone({ count: d.replayed, auditId: d.auditId });
        onDone();
      }
    } else {
      const r = await discard({ ...vars, dryRun });
      if (r.error) return setErr(explainError(r.error, 'discard').title);
      const d = r.data!.discardDeadLetters;
      if (dryRun) setDry({ matched: d.matched, eventIds: d.eventIds });
      else {
        setDone({ count: d.discarded, auditId: d.auditId });
        onDone();
      }
    }
  };
  useEffect(() => {
    void run(true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  const busy = replayState.fetching || discardState.fetching;
  const verb = action.kind === 'replay' ? 'Replay' : 'Discard';
  return (
    <Dialog title={`${verb} ${action.label}`} onClose={onClose}>
      {err ? (
        <p className="form-error" role="alert">
          {err}
        </p>
      ) : null}
      {!dry && !err ? <Loading what="the dry run" /> : null}
      {dry && !done ? (
        <div data-testid="dry-run">
          <p>
            Dry run: <strong>{formatNumber(dry.matched)}</strong> pending dead letter{dry.matched === 1 ? '' : 's'} would be {action.kind === 'replay' ? 'republished to events.raw with their original event ids' : 'marked discarded (never replayed)'}.
          </p>
          {dry.eventIds.length > 0 ? (
            <ul className="id-list">
              {dry.eventIds.slice(0, 10).map((id) => (
                <li key={id} className="mono small">
                  {id}
                </li>
              ))}
              {dry.eventIds.length > 10 ? <li className="muted small">… and {dry.eventIds.length - 10} more</li> : null}
            </ul>
          ) : null}
          <div className="actions">
            <button type="button" className={`btn ${action.kind === 'replay' ? 'primary' : 'danger'}`} disabled={busy || dry.matched === 0} onClick={() => run(false)}>
              {busy ? 'Working…' : `${verb} ${formatNumber(dry.matched)} dead letter${dry.matched === 1 ? '' : 's'}`}
            </button>
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
          </div>
        </div>
      ) : null}
      {done ? (
        <div role="status" data-testid="action-done">
          <p>
            {action.kind === 'replay' ? 'Replayed' : 'Discarded'} <strong>{formatNumber(done.count)}</strong>.{' '}
            {action.kind === 'replay' ? 'The processor stores them (or dead-letters them again) within seconds.' : ''}
          </p>
          {done.auditId ? (
            <p className="small">
              Audit entry <Id value={done.auditId} to={href('/tenants', { audit: done.auditId })} />
            </p>
          ) : null}
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
        </div>
      ) : null}
    </Dialog>
  );
}

function EditAndReplay({ letter, onClose, onDone }: { letter: Letter; onClose(): void; onDone(): void }) {
  const [text, setText] = useState(() => (letter.bodyStoredAsText ? letter.bodyText ?? '' : JSON.stringify(letter.body, null, 2)));
  const parsed = useMemo(() => parseJson(text), [text]);
  const notObject = parsed.error === undefined && (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value));
  const [state, replay] = useMutation(ReplayMutation);
  const [dry, setDry] = useState<number | null>(null);
  const [done, setDone] = useState<{ auditId?: string | null } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const valid = parsed.error === undefined && !notObject;
  const go = async (dryRun: boolean) => {
    setErr(null);
    const r = await replay({ ids: [letter.eventId], filter: null, dryRun, body: parsed.value });
    if (r.error) return setErr(explainError(r.error, 'replay').title);
    if (dryRun) setDry(r.data!.replayDeadLetters.matched);
    else {
      setDone({ auditId: r.data!.replayDeadLetters.auditId });
      onDone();
    }
  };
  return (
    <Dialog title={`Edit and replay ${letter.eventId}`} onClose={onClose} wide>
      <div className="edit-grid">
        <div>
          <label htmlFor="edit-body">Body (JSON object)</label>
          <textarea id="edit-body" className="mono editor" rows={18} spellCheck={false} value={text} onChange={(e) => {
            setText(e.target.value);
            setDry(null);
          }} aria-invalid={!valid} aria-describedby="edit-body-status" />
          <p id="edit-body-status" className={valid ? 'ok-text small' : 'form-error small'} role="status">
            {parsed.error ? `Not JSON: ${parsed.error}` : notObject ? 'The body must be a JSON object.' : 'Valid JSON.'}
          </p>
        </div>
        <div>
          <h4>What failed</h4>
          <ul className="errors">
            {letter.errors.map((e, i) => (
              <li key={i}>
                <code>{e.path || '/'}</code> — {e.message}
              </li>
            ))}
          </ul>
          <p className="small muted">The edited body replaces the original and is republished with the same event id; the processor validates it again.</p>
        </div>
      </div>
      {err ? (
        <p className="form-error" role="alert">
          {err}
        </p>
      ) : null}
      {done ? (
        <div role="status" data-testid="edit-done">
          <p>Replayed with the edited body.</p>
          {done.auditId ? (
            <p className="small">
              Audit entry <Id value={done.auditId} to={href('/tenants', { audit: done.auditId })} />
            </p>
          ) : null}
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
        </div>
      ) : (
        <div className="actions">
          <button type="button" className="btn" disabled={!valid || state.fetching} onClick={() => go(true)}>
            Dry run
          </button>
          {dry !== null ? (
            <span className="small" data-testid="edit-dry-run">
              {dry === 1 ? 'Dry run: 1 letter would be replayed with this body.' : `Dry run: ${dry} letters match (it must be 1).`}
            </span>
          ) : null}
          <button type="button" className="btn primary" disabled={!valid || dry !== 1 || state.fetching} onClick={() => go(false)}>
            Replay edited body
          </button>
        </div>
      )}
    </Dialog>
  );
}
