// Pipeline: per-partition lag in records and seconds (live from `consumerLag`, the last hour from
// `pipeline.history`), ingest vs processed vs dead-lettered throughput, and the processor group.
import { useMemo, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import type uPlot from 'uplot';
import { graphql } from '../gql';
import { Chart } from '../components/Chart';
import { Empty, ErrorBox, LiveBadge, Loading, Stat } from '../components/common';
import { formatNumber, formatRate, formatSeconds } from '../lib/format';
import { useInterval } from '../lib/hooks';
import { useUrlState } from '../lib/router';
import { useSession } from '../lib/session';

const PipelineQuery = graphql(`
  query Pipeline($minutes: Int!) {
    pipeline {
      topic
      group
      totalLag
      maxLagSeconds
      partitions {
        partition
        endOffset
        committedOffset
        lag
        lagSeconds
      }
      members {
        memberId
        clientId
        host
        partitions
      }
      rates {
        at
        ingestPerSecond
        processedPerSecond
        deadLetteredPerSecond
      }
      history(minutes: $minutes) {
        at
        totalLag
        maxLagSeconds
        ingestPerSecond
        processedPerSecond
        deadLetteredPerSecond
      }
    }
  }
`);

const LagSubscription = graphql(`
  subscription LiveLag {
    consumerLag(intervalMs: 1000) {
      at
      totalLag
      maxLagSeconds
      partitions {
        partition
        endOffset
        committedOffset
        lag
        lagSeconds
      }
    }
  }
`);

const RatesSubscription = graphql(`
  subscription PipelineRates {
    throughput(intervalMs: 1000) {
      at
      ingestPerSecond
      processedPerSecond
      deadLetteredPerSecond
    }
  }
`);

interface Sample {
  t: number;
  lag?: number;
  lagS?: number;
  ingest?: number;
  processed?: number;
  dead?: number;
}

type SortKey = 'partition' | 'lag' | 'lagSeconds';

export function Pipeline() {
  const session = useSession();
  const [params, setParams] = useUrlState();
  const lagOnly = params.get('lagOnly') === '1';
  const minutes = [15, 60, 360, 1440].includes(Number(params.get('minutes'))) ? Number(params.get('minutes')) : 60;
  const sort = (params.get('sort') as SortKey) || 'partition';
  const [{ data, error, fetching }, refetch] = useQuery({ query: PipelineQuery, variables: { minutes } });
  useInterval(() => refetch({ requestPolicy: 'network-only' }), 30000);

  const [liveSamples, setLiveSamples] = useState<Sample[]>([]);
  const [lastLive, setLastLive] = useState<number | null>(null);
  const [lag] = useSubscription({ query: LagSubscription }, (_p, d) => {
    const t = Date.parse(d.consumerLag.at) / 1000;
    setLiveSamples((s) => [...s.slice(-3600), { t, lag: d.consumerLag.totalLag, lagS: d.consumerLag.maxLagSeconds }]);
    setLastLive(Date.now());
    return d;
  });
  const [rates] = useSubscription({ query: RatesSubscription }, (_p, d) => {
    const t = Date.parse(d.throughput.at) / 1000;
    setLiveSamples((s) => [...s.slice(-3600), { t, ingest: d.throughput.ingestPerSecond, processed: d.throughput.processedPerSecond, dead: d.throughput.deadLetteredPerSecond }]);
    setLastLive(Date.now());
    return d;
  });

  const p = data?.pipeline;
  const partitions = lag.data?.consumerLag.partitions ?? p?.partitions ?? [];
  const totalLag = lag.data?.consumerLag.totalLag ?? p?.totalLag;
  const maxLagS = lag.data?.consumerLag.maxLagSeconds ?? p?.maxLagSeconds;
  const r = rates.data?.throughput ?? p?.rates;

  const { lagData, rateData } = useMemo(() => {
    const hist = p?.history ?? [];
    const histEnd = hist.length ? Date.parse(hist[hist.length - 1].at) / 1000 : 0;
    const lagPts: Array<[number, number, number]> = hist.map((h) => [Date.parse(h.at) / 1000, h.totalLag, h.maxLagSeconds]);
    const ratePts: Array<[number, number, number, number]> = hist.map((h) => [Date.parse(h.at) / 1000, h.ingestPerSecond, h.processedPerSecond, h.deadLetteredPerSecond]);
    for (const s of liveSamples) {
      if (s.t <= histEnd) continue;
      if (s.lag !== undefined) lagPts.push([s.t, s.lag, s.lagS ?? 0]);
      if (s.ingest !== undefined) ratePts.push([s.t, s.ingest, s.processed ?? 0, s.dead ?? 0]);
    }
    lagPts.sort((a, b) => a[0] - b[0]);
    ratePts.sort((a, b) => a[0] - b[0]);
    return {
      lagData: [lagPts.map((x) => x[0]), lagPts.map((x) => x[1]), lagPts.map((x) => x[2])] as uPlot.AlignedData,
      rateData: [ratePts.map((x) => x[0]), ratePts.map((x) => x[1]), ratePts.map((x) => x[2]), ratePts.map((x) => x[3])] as uPlot.AlignedData,
    };
  }, [p?.history, liveSamples]);

  const rows = useMemo(() => {
    const list = partitions.filter((x) => !lagOnly || x.lag > 0).slice();
    list.sort((a, b) => (sort === 'partition' ? a.partition - b.partition : sort === 'lag' ? b.lag - a.lag : b.lagSeconds - a.lagSeconds));
    return list;
  }, [partitions, lagOnly, sort]);

  if (error && !p) return <ErrorBox error={error} what="the pipeline" retry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (fetching && !p) return <Loading what="the pipeline" />;

  const sortHeader = (key: SortKey, label: string) => (
    <th scope="col" className="num" aria-sort={sort === key ? (key === 'partition' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="th-btn" onClick={() => setParams({ sort: key === 'partition' ? null : key }, true)}>
        {label}
        {sort === key ? (key === 'partition' ? ' ▲' : ' ▼') : ''}
      </button>
    </th>
  );

  return (
    <div className="view">
      <div className="toolbar">
        <h2>Pipeline</h2>
        <LiveBadge status={session.clients.status} lastUpdate={lastLive} />
        <span className="muted small">
          topic <code>{p?.topic ?? 'events.raw'}</code> · group <code>{p?.group ?? 'pulse-processor'}</code>
        </span>
        <div className="spacer" />
        <div className="segmented" role="group" aria-label="History range">
          {[15, 60, 360, 1440].map((m) => (
            <button key={m} type="button" aria-pressed={m === minutes} onClick={() => setParams({ minutes: m === 60 ? null : String(m) })}>
              {m < 60 ? `${m} min` : `${m / 60} h`}
            </button>
          ))}
        </div>
      </div>
      {lag.error ? <ErrorBox error={lag.error} what="live lag" /> : null}
      <section className="stats-row" aria-label="Pipeline totals">
        <Stat label="Total lag" testId="total-lag" value={`${formatNumber(totalLag)} ${totalLag === 1 ? 'record' : 'records'}`} />
        <Stat label="Max lag" testId="max-lag-seconds" value={formatSeconds(maxLagS)} sub="age of the oldest unprocessed record" />
        <Stat label="Ingest" value={formatRate(r?.ingestPerSecond)} />
        <Stat label="Processed" value={formatRate(r?.processedPerSecond)} />
        <Stat label="Dead-lettered" value={formatRate(r?.deadLetteredPerSecond)} />
      </section>
      <div className="grid-2">
        <section className="panel">
          <Chart
            title={`Lag (last ${minutes < 60 ? `${minutes} min` : `${minutes / 60} h`})`}
            testId="chart-lag"
            data={lagData}
            yLabel="records"
            y2Label="seconds"
            series={[
              { label: 'lag (records)', color: '--c1', fill: true, value: (v) => (v === null ? '—' : formatNumber(v)) },
              { label: 'max lag (s)', color: '--c3', dash: [6, 4], scale: 'y2', value: (v) => formatSeconds(v) },
            ]}
          />
        </section>
        <section className="panel">
          <Chart
            title="Throughput (events/s)"
            testId="chart-throughput"
            data={rateData}
            series={[
              { label: 'ingest', color: '--c1' },
              { label: 'processed', color: '--c2', dash: [6, 4] },
              { label: 'dead-lettered', color: '--c3', dash: [2, 3] },
            ]}
          />
        </section>
      </div>
      <div className="grid-2">
        <section className="panel" aria-labelledby="parts-h">
          <div className="panel-head">
            <h3 id="parts-h">Partitions</h3>
            <label className="inline">
              <input type="checkbox" checked={lagOnly} onChange={(e) => setParams({ lagOnly: e.target.checked ? '1' : null })} /> partitions with lag only
            </label>
          </div>
          {rows.length === 0 ? (
            <p className="muted">{lagOnly ? 'No partition has lag — the processor is caught up.' : 'No partitions reported — is Kafka up? Run `make status`.'}</p>
          ) : (
            <table className="table sticky" data-testid="partitions">
              <thead>
                <tr>
                  {sortHeader('partition', 'Partition')}
                  <th scope="col" className="num">
                    End offset
                  </th>
                  <th scope="col" className="num">
                    Committed
                  </th>
                  {sortHeader('lag', 'Lag (records)')}
                  {sortHeader('lagSeconds', 'Lag (time)')}
                </tr>
              </thead>
              <tbody>
                {rows.map((x) => (
                  <tr key={x.partition} className={x.lag > 0 ? 'has-lag' : ''}>
                    <td className="num">{x.partition}</td>
                    <td className="num mono">{formatNumber(x.endOffset)}</td>
                    <td className="num mono">{x.committedOffset === null || x.committedOffset === undefined ? 'none' : formatNumber(x.committedOffset)}</td>
                    <td className="num">{formatNumber(x.lag)}</td>
                    <td className="num">{formatSeconds(x.lagSeconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="panel" aria-labelledby="members-h">
          <h3 id="members-h">Processor group members</h3>
          {p && p.members.length === 0 ? (
            <Empty title="No processor is consuming">
              <p>processor not running — run <code>make up</code> (or <code>scripts/services.sh start</code>).</p>
            </Empty>
          ) : (
            <table className="table" data-testid="members">
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Host</th>
                  <th scope="col">Partitions</th>
                </tr>
              </thead>
              <tbody>
                {(p?.members ?? []).map((m) => (
                  <tr key={m.memberId}>
                    <td className="mono small" title={m.memberId}>
                      {m.clientId}
                    </td>
                    <td className="mono small">{m.host}</td>
                    <td>{m.partitions.slice().sort((a, b) => a - b).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </div>
  );
}
