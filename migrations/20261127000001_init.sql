-- pulse schema, version 1: tenants, events, dead letters and per-tenant json schemas.

-- a tenant is one team sending events. its api key is random, shown once and stored only as a
-- sha-256 hash; the prefix lets operators recognise a key without being able to use it.
create table if not exists tenants (
    id                       uuid        primary key,
    name                     text        not null unique,
    api_key_hash             text        not null unique,
    api_key_prefix           text        not null,
    rate_limit_per_minute    integer     not null default 300 check (rate_limit_per_minute > 0),
    idempotency_ttl_seconds  integer     not null default 1800 check (idempotency_ttl_seconds > 0),
    created_at               timestamptz not null default now(),
    disabled_at              timestamptz
);

-- every valid event, exactly once. no foreign key to tenants: tenants are never deleted (only
-- disabled) and a per-row key check would tax the hottest insert path for no safety gained.
create table if not exists events (
    tenant_id        uuid        not null,
    event_id         uuid        not null,
    event_type       text        not null,
    occurred_at      timestamptz not null,
    received_at      timestamptz not null,
    processed_at     timestamptz not null default now(),
    source           text,
    idempotency_key  text,
    payload          jsonb       not null,
    trace_id         text,
    kafka_partition  integer     not null,
    kafka_offset     bigint      not null,
    primary key (tenant_id, event_id)
);

-- time range per tenant (newest first), per event type, by idempotency key, by event id alone
create index if not exists events_tenant_received_idx on events (tenant_id, received_at desc);
create index if not exists events_tenant_type_idx on events (tenant_id, event_type, received_at desc);
create index if not exists events_tenant_idempotency_idx on events (tenant_id, idempotency_key)
    where idempotency_key is not null;
create index if not exists events_event_id_idx on events (event_id);

-- every event that failed validation, one row per (tenant, event); a redelivery bumps attempts.
-- body is the original event body (a json string of the raw bytes when the record was not json).
create table if not exists dead_letters (
    tenant_id         uuid        not null,
    event_id          uuid        not null,
    reason            text        not null check (reason in
                          ('missing_field', 'invalid_type', 'invalid_value', 'schema_violation', 'malformed_envelope')),
    errors            jsonb       not null,
    body              jsonb       not null,
    idempotency_key   text,
    received_at       timestamptz,
    failed_at         timestamptz not null default now(),
    source_topic      text        not null,
    source_partition  integer     not null,
    source_offset     bigint      not null,
    attempts          integer     not null default 1,
    trace_id          text,
    status            text        not null default 'pending' check (status in ('pending', 'replayed', 'discarded')),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    replayed_at       timestamptz,
    primary key (tenant_id, event_id)
);

create index if not exists dead_letters_tenant_failed_idx on dead_letters (tenant_id, failed_at desc);
create index if not exists dead_letters_status_reason_idx on dead_letters (status, reason);

-- optional json schema per tenant and event type; events of that type must satisfy it.
create table if not exists event_schemas (
    tenant_id   uuid        not null references tenants (id),
    event_type  text        not null,
    schema      jsonb       not null,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now(),
    primary key (tenant_id, event_type)
);
