// Overview: events per minute (live), totals, top event types, DLQ rate, and the health of every
// component, with what to do when one is down.
import { useMemo } from 'react';
import { useQuery } from 'urql';
import type uPlot from 'uplot';
import { graphql } from '../gql';
import { Chart } from '../components/Chart';
import { Command, Empty, ErrorBox, Id, LiveBadge, Loading, Stat, StatusTag, renderHint } from '../components/common';
import { componentHint } from '../lib/errors';
import { formatDuration, formatNumber, formatPercent, formatRate } from '../lib/format';
import { useInterval, useLiveRates, useTenantNames } from '../lib/hooks';
import { href, useUrlState } from '../lib/router';
import { useSession } from '../lib/session';

const OverviewQuery = graphql(`
  query Overview($window: StatsWindow!, $tenantId: UUID) {
    stats(window: $window, tenantId: $tenantId) {
      window
      from
      to
      received
      stored
      deadLettered
      dlqRate
      columns {
        start
        stepSeconds
        received
        stored
        deadLettered
      }
      topEventTypes {
        eventType
        count
      }
    }
  }
`);

const HealthQuery = graphql(`
  query Health {
    health {
      status
      components {
        name
        status
        detail
        latencyMs
      }
    }
  }
`);

const WINDOWS = ['5m', '30m', '1h', '24h'];

export function Overview() {
  const session = useSession();
  const admin = session.role === 'ADMIN';
  const [params, setParams] = useUrlState();
  const window = WINDOWS.includes(params.get('window') ?? '') ? params.get('window')! : '1h';
  const tenantId = admin ? params.get('tenant') || null : session.tenantId;
  const tenants = useTenantNames();

  const [stats, refetchStats] = useQuery({ query: OverviewQuery, variables: { window, tenantId } });
  const [health, refetchHealth] = useQuery({ query: HealthQuery });
  useInterval(() => refetchStats({ requestPolicy: 'network-only' }), 3000);
  useInterval(() => refetchHealth({ requestPolicy: 'network-only' }), 5000);
  const live = useLiveRates(admin, tenantId);

  const s = stats.data?.stats;
  // the columns form: a day of minutes is one short list per series, not 1,440 objects
  const minuteData = useMemo<uPlot.AlignedData>(() => {
    const c = s?.columns;
    if (!c) return [[], [], [], []];
    const start = Date.parse(c.start) / 1000;
    return [c.received.map((_, i) => start + i * c.stepSeconds), c.received, c.stored, c.deadLettered];
  }, [s?.columns]);
  const liveData = useMemo<uPlot.AlignedData>(
    () => [live.points.map((p) => p.t), live.points.map((p) => p.ingest), ...(admin ? [live.points.map((p) => p.processed), live.points.map((p) => p.dead)] : [])],
    [live.points, admin],
  );
  const current = live.points.at(-1);

  return (
    <div className="view">
      <div className="toolbar">
        <h2>Overview</h2>
        <LiveBadge status={session.clients.status} lastUpdate={live.last} />
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
        <div className="segmented" role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button key={w} type="button" aria-pressed={w === window} onClick={() => setParams({ window: w === '1h' ? null : w })}>
              {w}
            </button>
          ))}
        </div>
      </div>

      <section className="stats-row" aria-label="Totals">
        <Stat label="Now" testId="live-rate" value={<span data-live={current ? 'true' : 'false'}>{current ? formatRate(current.ingest) : '—'}</span>} sub={admin ? (current ? `processed ${formatRate(current.processed)}` : 'waiting for the first sample') : 'your accepted events'} />
        <Stat label={`Received (${window})`} testId="total-received" value={<span data-loaded={s ? 'true' : 'false'}>{s ? formatNumber(s.received) : '—'}</span>} />
        <Stat label={`Stored (${window})`} testId="total-stored" value={s ? formatNumber(s.stored) : '—'} />
        <Stat label={`Dead-lettered (${window})`} testId="total-dead" value={s ? formatNumber(s.deadLettered) : '—'} sub={s ? <a href={href('/dead-letters', { tenant: tenantId })}>open dead letters</a> : null} />
        <Stat label="DLQ rate" testId="dlq-rate" value={s ? formatPercent(s.dlqRate) : '—'} sub="dead-lettered ÷ received" />
      </section>

      {stats.error && !s ? <ErrorBox error={stats.error} what="statistics" retry={() => refetchStats({ requestPolicy: 'network-only' })} /> : null}
      {stats.fetching && !s && !stats.error ? <Loading what="statistics" /> : null}

      <div className="grid-2">
        <section className="panel">
          {s && s.received === 0 ? (
            <Empty title={`No events in the last ${window}`}>
              <p>Send one (with a tenant key from the Tenants view):</p>
              <Command text={`curl -sS localhost:8080/events -H 'X-API-Key: <tenant key>' -H 'Content-Type: application/json' -d '{"event_type":"order.created","payload":{"id":1}}'`} />
            </Empty>
          ) : null}
          <Chart
            title={`Events per minute (${window})`}
            testId="chart-per-minute"
            data={minuteData}
            series={[
              { label: 'received', color: '--c1', fill: true },
              { label: 'stored', color: '--c2', dash: [6, 4] },
              { label: 'dead-lettered', color: '--c3', dash: [2, 3] },
            ]}
          />
        </section>
        <section className="panel">
          {live.error ? <ErrorBox error={live.error} what="live throughput" /> : null}
          <Chart
            title="Live events per second (last 5 min)"
            testId="chart-live"
            data={liveData}
            series={
              admin
                ? [
                    { label: 'ingest', color: '--c1' },
                    { label: 'processed', color: '--c2', dash: [6, 4] },
                    { label: 'dead-lettered', color: '--c3', dash: [2, 3] },
                  ]
                : [{ label: 'accepted', color: '--c1' }]
            }
          />
        </section>
      </div>

      <div className="grid-2">
        <section className="panel" aria-labelledby="top-types">
          <h3 id="top-types">Top event types ({window})</h3>
          {s && s.topEventTypes.length === 0 ? <p className="muted">No events in this window.</p> : null}
          {s && s.topEventTypes.length > 0 ? (
            <table className="table" data-testid="top-types">
              <thead>
                <tr>
                  <th scope="col">Event type</th>
                  <th scope="col" className="num">
                    Events
                  </th>
                  <th scope="col" className="num">
                    Share
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.topEventTypes.slice(0, 8).map((t) => (
                  <tr key={t.eventType}>
                    <td className="mono">{t.eventType || <span className="muted">(no event type — dead-lettered)</span>}</td>
                    <td className="num">{formatNumber(t.count)}</td>
                    <td className="num">
                      <span className="bar" style={{ width: `${Math.round((t.count / Math.max(1, s.received)) * 60)}px` }} aria-hidden="true" /> {formatPercent(t.count / Math.max(1, s.received))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
        <section className="panel" aria-labelledby="health-h">
          <h3 id="health-h">
            Health {health.data ? <StatusTag status={health.data.health.status} /> : null}
          </h3>
          {health.error && !health.data ? <ErrorBox error={health.error} what="health" /> : null}
          {health.data ? (
            <table className="table" data-testid="health">
              <thead>
                <tr>
                  <th scope="col">Component</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Latency
                  </th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {health.data.health.components.map((c) => (
                  <tr key={c.name}>
                    <td>{c.name}</td>
                    <td>
                      <StatusTag status={c.status} />
                    </td>
                    <td className="num">{c.latencyMs === null || c.latencyMs === undefined ? '—' : formatDuration(c.latencyMs)}</td>
                    <td className="small">{c.status === 'DOWN' ? <strong>{renderHint(componentHint(c.name))}</strong> : c.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      </div>
      {tenantId && admin ? (
        <p className="muted small">
          Showing tenant <Id value={tenantId} />
        </p>
      ) : null}
    </div>
  );
}
