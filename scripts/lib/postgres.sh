# shellcheck shell=bash
# PostgreSQL: Debian's cluster (pg_lsclusters / pg_ctlcluster), role and database "pulse".

PG_PORT=5432
PG_USER=pulse
PG_PASSWORD=pulse
PG_DATABASE=pulse

# pg_cluster — print "VERSION NAME STATUS LOGFILE" of the cluster configured for $PG_PORT.
pg_cluster() {
  pg_lsclusters --no-header 2>/dev/null |
    awk -v port="$PG_PORT" '$3 == port { print $1, $2, $4, $7; exit }'
}

# psql_admin SQL — run SQL as the postgres superuser over the local socket; prints unaligned rows.
psql_admin() {
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres -tA -c "$1"
}

# pg_password_login — true when the pulse role can log in with its password over TCP on 127.0.0.1.
pg_password_login() {
  PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=5 \
    psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -tA -c 'SELECT 1' >/dev/null 2>&1
}

pg_ready() {
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
}

postgres_logs() {
  local ver name status log
  read -r ver name status log < <(pg_cluster) || true
  printf '%s\n' "${log:-/var/log/postgresql/postgresql-${ver:-15}-${name:-main}.log}"
}

postgres_up() {
  local ver name status log
  if ! read -r ver name status log < <(pg_cluster); then
    if [[ -n $(pg_lsclusters --no-header 2>/dev/null) ]]; then
      warn postgres "no cluster uses port $PG_PORT (see pg_lsclusters); change one to $PG_PORT first"
      return 1
    fi
    ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n 1)
    [[ -n $ver ]] || { warn postgres "PostgreSQL server binaries not found under /usr/lib/postgresql"; return 1; }
    say postgres "creating cluster $ver/main on port $PG_PORT"
    as_root pg_createcluster "$ver" main --port "$PG_PORT" >/dev/null
    read -r ver name status log < <(pg_cluster)
  fi
  # a handy link next to the other logs
  mkdir -p -- "$LOG_DIR"
  [[ -z $log ]] || ln -sfn -- "$log" "$LOG_DIR/postgres.log"

  if [[ $status == online* ]]; then
    say postgres "already running (cluster $ver/$name, port $PG_PORT)"
  else
    say postgres "starting cluster $ver/$name with pg_ctlcluster"
    as_root pg_ctlcluster "$ver" "$name" start
  fi
  if ! wait_for 60 "" pg_ready; then
    warn postgres "not accepting connections on 127.0.0.1:$PG_PORT after 60s"
    return 1
  fi

  postgres_tune "$ver" "$name" || return 1

  local attrs
  attrs=$(psql_admin "SELECT rolcanlogin AND rolcreatedb FROM pg_roles WHERE rolname = '$PG_USER'")
  case $attrs in
    t) say postgres "role $PG_USER exists" ;;
    f)
      say postgres "granting LOGIN CREATEDB to role $PG_USER"
      psql_admin "ALTER ROLE $PG_USER LOGIN CREATEDB"
      ;;
    *)
      say postgres "creating role $PG_USER (LOGIN CREATEDB)"
      psql_admin "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
      ;;
  esac

  # DROP DATABASE … WITH (FORCE) of a test or benchmark database must be able to stop the
  # autovacuum worker that is often still vacuuming it
  if [[ $(psql_admin "SELECT pg_has_role('$PG_USER', 'pg_signal_backend', 'MEMBER')") != t ]]; then
    say postgres "granting pg_signal_backend to $PG_USER (to drop databases autovacuum is working on)"
    psql_admin "GRANT pg_signal_backend TO $PG_USER"
  fi

  # the benchmarks CHECKPOINT before measuring queries, so a checkpoint of the rows an earlier
  # run wrote does not stall the measurement (pg_checkpoint exists from PostgreSQL 15 on)
  if [[ $(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'pg_checkpoint'") == 1 &&
        $(psql_admin "SELECT pg_has_role('$PG_USER', 'pg_checkpoint', 'MEMBER')") != t ]]; then
    say postgres "granting pg_checkpoint to $PG_USER (the benchmarks checkpoint before measuring)"
    psql_admin "GRANT pg_checkpoint TO $PG_USER"
  fi

  # the GraphQL benchmark reads its database into memory with pg_prewarm before measuring; in
  # template1, every database created from now on has it (CREATE EXTENSION needs a superuser)
  if [[ $(psql_admin "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'") == 1 &&
        $(as_postgres psql -X -q -p "$PG_PORT" -d template1 -tA \
            -c "SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'") != 1 ]]; then
    say postgres "installing pg_prewarm in template1 (the GraphQL benchmark warms its database)"
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d template1 \
      -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" || return 1
  fi

  if [[ $(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'") == 1 ]]; then
    say postgres "database $PG_DATABASE exists"
  else
    say postgres "creating database $PG_DATABASE owned by $PG_USER"
    psql_admin "CREATE DATABASE $PG_DATABASE OWNER $PG_USER"
  fi

  if pg_password_login; then
    say postgres "ready: postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
    return 0
  fi
  say postgres "password login over 127.0.0.1 failed; resetting the password of $PG_USER"
  psql_admin "ALTER ROLE $PG_USER PASSWORD '$PG_PASSWORD'"
  if pg_password_login; then
    say postgres "ready: postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
    return 0
  fi

  # The password is right, so pg_hba.conf does not allow password logins from 127.0.0.1: put a rule first.
  local hba
  hba=$(psql_admin 'SHOW hba_file')
  say postgres "adding a scram-sha-256 rule for 127.0.0.1 at the top of $hba"
  as_root sed -i "1i host all all 127.0.0.1/32 scram-sha-256  # added by pulse scripts/infra.sh" "$hba"
  psql_admin 'SELECT pg_reload_conf()' >/dev/null
  sleep 1
  if pg_password_login; then
    say postgres "ready: postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"
    return 0
  fi
  warn postgres "password login as $PG_USER on 127.0.0.1:$PG_PORT still fails"
  return 1
}

# Settings for a write-heavy event store (Debian's defaults are sized for a small shared box):
# a bigger buffer cache, and checkpoints far enough apart that a burst of inserts does not write
# every page twice (full-page images after each checkpoint); WAL images compressed with lz4.
# Durability is untouched: synchronous_commit and fsync stay on.
# shared_buffers is 1 GB, or an eighth of the memory on a machine with less than 8 GiB.
pg_shared_buffers() {
  local kib
  kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null)
  if [[ -z $kib ]] || ((kib >= 8 * 1024 * 1024)); then
    echo 1GB
  else
    echo "$((kib / 8 / 1024 > 128 ? kib / 8 / 1024 : 128))MB"
  fi
}
PG_SETTINGS=(
  "shared_buffers=$(pg_shared_buffers)"
  "wal_buffers=64MB"
  "max_wal_size=8GB"
  "min_wal_size=1GB"
  "checkpoint_timeout=15min"
  "wal_compression=lz4"
)

# postgres_tune VERSION NAME — applies PG_SETTINGS with ALTER SYSTEM (only what differs) and
# restarts the cluster when one of them needs it.
postgres_tune() {
  local kv key want changed=()
  for kv in "${PG_SETTINGS[@]}"; do
    key=${kv%%=*} want=${kv#*=}
    if [[ $(psql_admin "SELECT current_setting('$key') = '$want' OR EXISTS (SELECT 1 FROM pg_file_settings WHERE name = '$key' AND setting = '$want' AND applied IS NOT NULL AND sourcefile LIKE '%postgresql.auto.conf')") != t ]]; then
      # a setting this build does not support (say, lz4 without lz4) is skipped, not fatal
      if psql_admin "ALTER SYSTEM SET $key = '$want'" 2>/dev/null; then
        changed+=("$key=$want")
      else
        warn postgres "could not set $key=$want; keeping $(psql_admin "SHOW $key")"
      fi
    fi
  done
  ((${#changed[@]} == 0)) || say postgres "set ${changed[*]}"
  psql_admin 'SELECT pg_reload_conf()' >/dev/null
  if [[ $(psql_admin 'SELECT count(*) FROM pg_settings WHERE pending_restart') != 0 ]]; then
    say postgres "restarting cluster $1/$2 to apply the new settings"
    as_root pg_ctlcluster "$1" "$2" restart
    wait_for 60 "" pg_ready || { warn postgres "not accepting connections after the restart"; return 1; }
  fi
}

postgres_down() {
  local ver name status log
  if ! read -r ver name status log < <(pg_cluster); then
    say postgres "no cluster on port $PG_PORT"
    return 0
  fi
  if [[ $status == online* ]]; then
    say postgres "stopping cluster $ver/$name with pg_ctlcluster"
    as_root pg_ctlcluster "$ver" "$name" stop
    say postgres "stopped"
  else
    say postgres "not running"
  fi
}

postgres_status() {
  local ver name status log state
  if read -r ver name status log < <(pg_cluster); then
    if [[ $status == online* ]]; then state=running; else state=stopped; fi
    printf '%-9s %-8s port %-5s %-7s cluster %s/%s\n' postgres "$state" "$PG_PORT" \
      "$(port_word 127.0.0.1 "$PG_PORT")" "$ver" "$name"
  else
    printf '%-9s %-8s port %-5s %-7s no cluster on this port\n' postgres stopped "$PG_PORT" \
      "$(port_word 127.0.0.1 "$PG_PORT")"
  fi
}
