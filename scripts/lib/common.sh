# shellcheck shell=bash
# Helpers shared by scripts/infra.sh and the component files next to this one.
# Expects REPO to be set by the caller.

RUN_DIR="$REPO/.run"
LOG_DIR="$RUN_DIR/logs"

# say COMPONENT MESSAGE... — one progress line.
say() {
  local who=$1
  shift
  printf '==> %s: %s\n' "$who" "$*"
}

# warn COMPONENT MESSAGE... — same, on stderr.
warn() {
  local who=$1
  shift
  printf '==> %s: %s\n' "$who" "$*" >&2
}

# show_log_tail FILE [LINES] — the end of a log file, indented, on stderr.
show_log_tail() {
  local file=$1 lines=${2:-30}
  if [[ -s $file ]]; then
    printf -- '---- last %s lines of %s\n' "$lines" "$file" >&2
    tail -n "$lines" -- "$file" | sed 's/^/    /' >&2
  else
    printf -- '---- %s is empty or missing\n' "$file" >&2
  fi
}

# port_open HOST PORT — true when a TCP connection to HOST:PORT succeeds within a second.
port_open() {
  # shellcheck disable=SC2016 # $1/$2 are expanded by the inner bash
  timeout 1 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# port_word HOST PORT — "open" or "closed", for status lines.
port_word() {
  if port_open "$1" "$2"; then echo open; else echo closed; fi
}

# http_ok URL — true when URL answers with a 2xx/3xx status.
http_ok() {
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

# pidfile NAME — .run/pids/NAME.pid (the same folder scripts/services.sh uses).
pidfile() {
  printf '%s/pids/%s.pid' "$RUN_DIR" "$1"
}

# running_pid NAME PATTERN — print the pid recorded in .run/pids/NAME.pid if that process is alive and its
# command line contains PATTERN (so a stale pid file whose pid was reused does not count).
running_pid() {
  local file pid cmdline
  file=$(pidfile "$1")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]] || return 1
  printf '%s\n' "$pid"
}

# rotate_log FILE — keep the previous run's log as FILE.prev.
rotate_log() {
  if [[ -s $1 ]]; then
    mv -f -- "$1" "$1.prev"
  fi
}

# start_daemon NAME LOGFILE COMMAND... — run COMMAND detached from this shell (own session, stdin from
# /dev/null, stdout+stderr to LOGFILE) and record its pid in .run/pids/NAME.pid.
start_daemon() {
  local name=$1 log=$2
  shift 2
  mkdir -p -- "$LOG_DIR" "$RUN_DIR/pids"
  rotate_log "$log"
  # setsid execs COMMAND in place (we are not a process-group leader), so $! is COMMAND's pid.
  setsid nohup "$@" >"$log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$(pidfile "$name")"
}

# stop_daemon NAME PATTERN [TIMEOUT_SECONDS] — SIGTERM the process from .run/pids/NAME.pid, wait up to TIMEOUT
# seconds (default 30), then SIGKILL. Does nothing when it is not running.
stop_daemon() {
  local name=$1 pattern=$2 timeout=${3:-30} pid i
  if ! pid=$(running_pid "$name" "$pattern"); then
    say "$name" "not running (nothing started by this script)"
    rm -f -- "$(pidfile "$name")"
    return 0
  fi
  say "$name" "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 5; i++)); do
    if ! pid_is_live "$pid"; then
      rm -f -- "$(pidfile "$name")"
      say "$name" "stopped"
      return 0
    fi
    sleep 0.2
  done
  warn "$name" "still running after ${timeout}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.5
  rm -f -- "$(pidfile "$name")"
}

# wait_for TIMEOUT_SECONDS PID COMMAND... — run COMMAND every half second until it succeeds (0), the
# timeout passes (1) or, when PID is not empty, that process exits (2).
wait_for() {
  local timeout=$1 pid=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$@"; then
      return 0
    fi
    if [[ -n $pid ]] && ! pid_is_live "$pid"; then
      return 2
    fi
    sleep 0.5
  done
  "$@"
}

# pid_is_live PID — true while PID exists and is not a zombie.
pid_is_live() {
  local stat
  { stat=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  # the field after "(comm)" is the state; comm may itself contain spaces or parentheses
  stat=${stat##*) }
  [[ -n $stat && ${stat%% *} != Z ]]
}

# as_postgres COMMAND... — run COMMAND as the postgres system user.
as_postgres() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && sudo -n -u postgres -- "$@")
  fi
}

# as_root COMMAND... — run COMMAND as root (directly when we are root, else through sudo).
as_root() {
  if ((EUID == 0)); then
    "$@"
  else
    sudo -n -- "$@"
  fi
}
