-- pulse schema: pipeline history (lag and throughput over time) that survives restarts.

-- one row every ~10 s, written by the admin api's sampler (`pulse graphql`) from what it reads in
-- kafka: the processor group's lag over events.raw and the ingest / process / dead-letter rates.
-- `pipeline.history` and the console's charts read it; rows older than ~25 h are deleted by the
-- same sampler. partitions holds the per-partition detail of the sample:
-- [{"partition":0,"end_offset":10,"committed_offset":8,"lag":2,"lag_seconds":1.5}, …]
create table if not exists pipeline_samples (
    at                   timestamptz      primary key,
    total_lag            bigint           not null,
    max_lag_seconds      double precision not null,
    ingest_per_s         double precision not null,
    processed_per_s      double precision not null,
    dead_lettered_per_s  double precision not null,
    partitions           jsonb            not null default '[]'
);
