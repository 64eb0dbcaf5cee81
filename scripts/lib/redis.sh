# shellcheck shell=bash
# Redis on 127.0.0.1:6379: our own daemonized redis-server with data in .run/redis (append-only file),
# unless some Redis already answers on that port, in which case that one is used.

REDIS_PORT=6379
REDIS_DIR="$RUN_DIR/redis"
REDIS_LOG="$LOG_DIR/redis.log"

redis_ping() {
  [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_logs() {
  printf '%s\n' "$REDIS_LOG"
}

redis_up() {
  local pid
  if pid=$(running_pid redis redis-server); then
    say redis "already running (pid $pid)"
  elif redis_ping; then
    say redis "a Redis not started by this script already answers on 127.0.0.1:$REDIS_PORT; using it"
    return 0
  elif port_open 127.0.0.1 "$REDIS_PORT"; then
    warn redis "port $REDIS_PORT is taken by something that does not answer PING"
    return 1
  else
    say redis "starting redis-server on 127.0.0.1:$REDIS_PORT (data: ${REDIS_DIR#"$REPO"/})"
    mkdir -p -- "$REDIS_DIR" "$LOG_DIR" "$RUN_DIR/pids"
    rotate_log "$REDIS_LOG"
    # --daemonize: redis forks, writes the pid file itself and the command returns at once.
    # Durability comes from the append-only file (fsync every second); RDB snapshots are off
    # (`--save ""`): with idempotency keys churning, a snapshot every minute forks and rewrites the
    # whole data set, which costs a core under load. AOF rewrites wait until the file is 256 MB.
    redis-server --daemonize yes \
      --bind 127.0.0.1 --port "$REDIS_PORT" \
      --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec --save "" \
      --auto-aof-rewrite-min-size 256mb \
      --pidfile "$(pidfile redis)" --logfile "$REDIS_LOG"
  fi
  if ! wait_for 20 "" redis_ping; then
    warn redis "no PONG from 127.0.0.1:$REDIS_PORT after 20s"
    return 1
  fi
  pid=$(running_pid redis redis-server) || pid='?'
  say redis "ready: redis://127.0.0.1:$REDIS_PORT (pid $pid)"
}

redis_down() {
  if ! running_pid redis redis-server >/dev/null && redis_ping; then
    say redis "the Redis on port $REDIS_PORT was not started by this script; leaving it running"
    return 0
  fi
  stop_daemon redis redis-server 30
}

redis_status() {
  local pid state detail
  if pid=$(running_pid redis redis-server); then
    state=running detail="pid $pid"
  elif redis_ping; then
    state=running detail="not started by this script"
  else
    state=stopped detail=""
  fi
  if redis_ping; then detail="PING ok${detail:+, $detail}"; fi
  printf '%-9s %-8s port %-5s %-7s %s\n' redis "$state" "$REDIS_PORT" \
    "$(port_word 127.0.0.1 "$REDIS_PORT")" "$detail"
}
