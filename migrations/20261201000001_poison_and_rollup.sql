-- pulse schema, version 2: dead letters that postgresql's jsonb refuses, and per-minute counts.

-- a dead letter's body is the original body as jsonb. when jsonb refuses it (nesting past
-- postgresql's stack, a number past numeric's range, an escaped nul, text that is not json), the
-- exact text is kept in body_text instead, body is null and body_stored_as_text says so: nothing
-- is lost and a replay sends the same bytes.
alter table dead_letters alter column body drop not null;
alter table dead_letters add column if not exists body_text text;
alter table dead_letters add column if not exists body_stored_as_text boolean not null default false;

-- outcomes per tenant, minute of receipt and event type, maintained by the processor in the same
-- transaction as the rows it counts, so the two can never disagree. `stats` reads only this table
-- (never a scan of events). a row is spread over a few shards so that concurrent batch writers do
-- not queue on one hot row's lock; readers sum the shards. event_type is '' when the body had none.
create table if not exists event_counts_minute (
    tenant_id      uuid        not null,
    minute         timestamptz not null,
    event_type     text        not null,
    shard          smallint    not null default 0,
    stored         bigint      not null default 0,
    dead_lettered  bigint      not null default 0,
    primary key (tenant_id, minute, event_type, shard)
);

create index if not exists event_counts_minute_minute_idx on event_counts_minute (minute);
