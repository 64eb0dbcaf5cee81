// Hooks shared by the views: periodic refetch while the tab is visible, and a live rate series fed by
// the `throughput` subscription (admin) or counted from the `events` subscription (tenant keys).
import { useEffect, useRef, useState } from 'react';
import { useQuery, useSubscription } from 'urql';
import { graphql } from '../gql';

/** Calls `fn` every `ms` while the page is visible. */
export function useInterval(fn: () => void, ms: number | null): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') ref.current();
    }, ms);
    return () => clearInterval(t);
  }, [ms]);
}

export const ThroughputSubscription = graphql(`
  subscription LiveThroughput($intervalMs: Int!) {
    throughput(intervalMs: $intervalMs) {
      at
      ingestPerSecond
      processedPerSecond
      deadLetteredPerSecond
    }
  }
`);

const TenantTickSubscription = graphql(`
  subscription TenantTick($filter: LiveEventFilter) {
    events(filter: $filter) {
      eventId
      missedBefore
    }
  }
`);

export interface RatePoint {
  t: number;
  ingest: number;
  processed: number;
  dead: number;
}

/** The last `keep` seconds of rates, newest last, with the time of the last sample. */
export function useLiveRates(admin: boolean, tenantId: string | null, keep = 300): { points: RatePoint[]; last: number | null; error?: Error } {
  const [points, setPoints] = useState<RatePoint[]>([]);
  const [last, setLast] = useState<number | null>(null);
  const counter = useRef(0);

  const [thr] = useSubscription({ query: ThroughputSubscription, variables: { intervalMs: 1000 }, pause: !admin }, (_prev, d) => {
    const s = d.throughput;
    const t = Date.parse(s.at) / 1000;
    setPoints((p) => {
      const next = p.length >= keep ? p.slice(p.length - keep + 1) : p.slice();
      next.push({ t, ingest: s.ingestPerSecond, processed: s.processedPerSecond, dead: s.deadLetteredPerSecond });
      return next;
    });
    setLast(Date.now());
    return d;
  });

  const [ev] = useSubscription({ query: TenantTickSubscription, variables: { filter: tenantId ? { tenantId } : null }, pause: admin }, (_prev, d) => {
    counter.current += 1 + (d.events.missedBefore ?? 0);
    return d;
  });
  // a tenant key has no platform throughput: count its own accepted events per second
  useEffect(() => {
    if (admin) return;
    setLast(Date.now());
    const t = setInterval(() => {
      const n = counter.current;
      counter.current = 0;
      setPoints((p) => {
        const next = p.length >= keep ? p.slice(p.length - keep + 1) : p.slice();
        next.push({ t: Date.now() / 1000, ingest: n, processed: 0, dead: 0 });
        return next;
      });
      setLast(Date.now());
    }, 1000);
    return () => clearInterval(t);
  }, [admin, keep]);

  return { points, last, error: admin ? thr.error : ev.error };
}

export const TenantsListQuery = graphql(`
  query TenantNames {
    tenants {
      id
      name
    }
  }
`);

/** Tenants for filter drop-downs (admin sees all, a tenant its own). */
export function useTenantNames() {
  const [{ data }] = useQuery({ query: TenantsListQuery });
  return data?.tenants ?? [];
}
