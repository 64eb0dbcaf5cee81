#!/usr/bin/env bash
# Drops the per-test databases (pulse_test_*) left by earlier test runs.
set -euo pipefail
url="${DATABASE_URL:-postgres://pulse:pulse@127.0.0.1:5432/pulse}"
dbs="$(psql "$url" -Atc "select datname from pg_database where datname like 'pulse\_test\_%'")"
for db in $dbs; do
  psql "$url" -qc "drop database if exists \"$db\" with (force)" >/dev/null
done
[[ -z "$dbs" ]] || echo "==> dropped $(wc -w <<<"$dbs") old test databases"
