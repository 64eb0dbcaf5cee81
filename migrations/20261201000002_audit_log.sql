-- pulse schema, version 3: the audit log of operator actions.

-- one row per operator action (every graphql mutation, refused ones too). arguments never hold a
-- secret (api keys, the admin token); result is 'ok' or the error code; trace_id links to jaeger.
create table if not exists audit_log (
    id         uuid        primary key,
    at         timestamptz not null default now(),
    actor      text        not null,
    action     text        not null,
    arguments  jsonb       not null default '{}'::jsonb,
    result     text        not null,
    trace_id   text
);

-- the log is read newest first, page by page
create index if not exists audit_log_at_idx on audit_log (at desc, id desc);
