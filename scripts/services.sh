#!/usr/bin/env bash
# Starts, stops and reports the three Pulse services (ingest, processor, graphql) from the release
# binary. State lives in .run/: pid files in .run/pids, logs in .run/logs.
#   scripts/services.sh start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run"
BIN="${PULSE_BIN:-$ROOT/target/release/pulse}"
SERVICES=(ingest processor graphql)
mkdir -p "$RUN/pids" "$RUN/logs"

port_of() {
  case "$1" in
    ingest) echo 8080 ;;
    graphql) echo 8081 ;;
    processor) echo 8082 ;;
  esac
}

pid_of() {
  local f="$RUN/pids/$1.pid"
  [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

healthy() {
  curl -fsS --max-time 2 "http://127.0.0.1:$(port_of "$1")/healthz" >/dev/null 2>&1
}

# The GraphQL admin token has no built-in default: one random token is generated once into
# .run/admin-token (mode 0600) and kept across restarts; PULSE_ADMIN_TOKEN in the environment wins.
admin_token() {
  local f="$RUN/admin-token"
  if [[ -n "${PULSE_ADMIN_TOKEN:-}" ]]; then
    printf '%s' "$PULSE_ADMIN_TOKEN"
    return
  fi
  if [[ ! -s "$f" ]]; then
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$f")
  fi
  chmod 600 "$f"
  cat "$f"
}

start_one() {
  local svc="$1" pid
  if pid="$(pid_of "$svc")"; then
    echo "==> $svc: already running (pid $pid)"
    return 0
  fi
  echo "==> $svc: starting on :$(port_of "$svc")"
  local token=""
  [[ "$svc" == graphql ]] && token="$(admin_token)"
  # the bundled Jaeger takes traces but no metrics: metrics stay on /metrics unless told otherwise
  PULSE_LOG_FORMAT="${PULSE_LOG_FORMAT:-json}" OTEL_METRICS_EXPORTER="${OTEL_METRICS_EXPORTER:-prometheus}" \
    PULSE_ADMIN_TOKEN="$token" nohup "$BIN" "$svc" >>"$RUN/logs/$svc.log" 2>&1 &
  echo $! >"$RUN/pids/$svc.pid"
  for _ in $(seq 1 60); do
    if healthy "$svc"; then
      echo "==> $svc: healthy"
      return 0
    fi
    if ! kill -0 "$(cat "$RUN/pids/$svc.pid")" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  echo "!! $svc did not become healthy; last log lines:" >&2
  tail -n 20 "$RUN/logs/$svc.log" >&2
  return 1
}

stop_one() {
  local svc="$1" pid
  if ! pid="$(pid_of "$svc")"; then
    echo "==> $svc: not running"
    rm -f "$RUN/pids/$svc.pid"
    return 0
  fi
  echo "==> $svc: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "==> $svc: still running after 15 s, killing"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/pids/$svc.pid"
}

status_one() {
  local svc="$1" pid
  if pid="$(pid_of "$svc")"; then
    local ready
    ready="$(curl -s --max-time 2 "http://127.0.0.1:$(port_of "$svc")/readyz" || true)"
    printf '%-10s running (pid %s)  :%s  readyz=%s\n' "$svc" "$pid" "$(port_of "$svc")" "${ready:-no answer}"
  else
    printf '%-10s stopped\n' "$svc"
  fi
}

case "${1:-}" in
  start) for s in "${SERVICES[@]}"; do start_one "$s"; done ;;
  stop) for s in "${SERVICES[@]}"; do stop_one "$s"; done ;;
  status) for s in "${SERVICES[@]}"; do status_one "$s"; done ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
