-- pulse schema: the processor's durable idempotency check, the second line behind ingest's redis.
--
-- ingest answers a retried idempotency-key from redis. when redis loses its data (a failover to a
-- lagging replica, a lost disk, flushall) a retry gets a new event_id and a 202, and both events
-- reach the processor. the processor claims each (tenant_id, idempotency_key) here, in the same
-- transaction as the batch's rows: the first event_id to claim a key within the tenant's window
-- (tenants.idempotency_ttl_seconds, the same window ingest keeps the key in redis) is stored; a
-- later event with another event_id and the same key is not stored again but recorded in
-- event_aliases as a duplicate of the first. a dead-lettered event claims its key too: a retry
-- of a request that was invalid once stays a duplicate of that dead letter, as ingest answers it.

-- one row per key; expires_at = received_at of the claiming event + the tenant's window at the
-- time. after expires_at a new event with the key claims it again (the row is taken over). rows
-- past expires_at are deleted in batches by the processor (brin index: rows arrive in time order,
-- so the index costs next to nothing per insert).
create table if not exists idempotency_keys (
    tenant_id        uuid        not null,
    idempotency_key  text        not null,
    event_id         uuid        not null,
    received_at      timestamptz not null,
    expires_at       timestamptz not null,
    primary key (tenant_id, idempotency_key)
);

create index if not exists idempotency_keys_expires_brin on idempotency_keys using brin (expires_at);

-- an acknowledged event_id that was not stored because its key was already claimed by
-- original_event_id (in events or dead_letters). every acknowledged id is thus accounted for once:
-- a row in events, a row in dead_letters, or a row here. aliases are not counted in
-- event_counts_minute.
create table if not exists event_aliases (
    tenant_id          uuid        not null,
    event_id           uuid        not null,
    original_event_id  uuid        not null,
    idempotency_key    text        not null,
    received_at        timestamptz not null,
    aliased_at         timestamptz not null default now(),
    primary key (tenant_id, event_id)
);

create index if not exists event_aliases_original_idx on event_aliases (tenant_id, original_event_id);
