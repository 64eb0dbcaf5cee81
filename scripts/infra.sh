#!/usr/bin/env bash
# Native development infrastructure for Pulse, without Docker:
#   PostgreSQL (Debian's cluster) :5432, Redis :6379, Kafka 4.1 KRaft :9092/:9093, Jaeger v2 :16686/:4317/:4318.
#
#   scripts/infra.sh up [component...]      install what is missing, start, wait until each one answers
#   scripts/infra.sh down [component...]    stop (data is kept under .run/ and PostgreSQL's own directory)
#   scripts/infra.sh status                 one line per component
#   scripts/infra.sh kafka-topics ARGS...   org.apache.kafka.tools.TopicCommand against 127.0.0.1:9092
#   scripts/infra.sh kafka-consumer-groups ARGS...   ConsumerGroupCommand against 127.0.0.1:9092
#
# Components: postgres redis kafka jaeger (default: all). Every step is skipped when already done.
# Runtime state (pid files, logs in .run/logs/, data) lives in .run/ at the repository root.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$SCRIPT_DIR/.." && pwd)

# shellcheck source=lib/common.sh
source "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/packages.sh
source "$SCRIPT_DIR/lib/packages.sh"
# shellcheck source=lib/postgres.sh
source "$SCRIPT_DIR/lib/postgres.sh"
# shellcheck source=lib/redis.sh
source "$SCRIPT_DIR/lib/redis.sh"
# shellcheck source=lib/kafka.sh
source "$SCRIPT_DIR/lib/kafka.sh"
# shellcheck source=lib/jaeger.sh
source "$SCRIPT_DIR/lib/jaeger.sh"

ALL_COMPONENTS=(postgres redis kafka jaeger)

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# select_components NAME... — validate the names (none: all of them) into the COMPONENTS array.
select_components() {
  local name known
  COMPONENTS=()
  if (($# == 0)); then
    COMPONENTS=("${ALL_COMPONENTS[@]}")
    return 0
  fi
  for name in "$@"; do
    for known in "${ALL_COMPONENTS[@]}"; do
      if [[ $name == "$known" ]]; then
        COMPONENTS+=("$name")
        continue 2
      fi
    done
    printf 'unknown component: %s (known: %s)\n' "$name" "${ALL_COMPONENTS[*]}" >&2
    exit 2
  done
}

# with_lock ARGS... — re-run this script with ARGS while holding .run/infra.lock, so that only one up/down
# runs at a time (make targets, tests and people may call it concurrently). flock -o keeps the lock in
# the flock process itself: the daemons started below must not inherit the lock's file descriptor.
with_lock() {
  local lock="$RUN_DIR/infra.lock" rc=0
  mkdir -p -- "$RUN_DIR" "$LOG_DIR"
  export PULSE_INFRA_LOCKED=1
  flock -n -o -E 75 "$lock" bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  if ((rc == 75)); then
    say infra "another scripts/infra.sh up/down is running; waiting for it"
    rc=0
    flock -o -w 1800 -E 75 "$lock" bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  fi
  exit "$rc"
}

# run_step COMPONENT ACTION — run COMPONENT_ACTION in a subshell with errexit in force; on failure show
# the end of the component's logs. Returns the function's status.
run_step() {
  local component=$1 action=$2 rc log
  set +e
  (
    set -e
    "${component}_${action}"
  )
  rc=$?
  set -e
  if ((rc != 0)); then
    warn "$component" "$action FAILED (exit $rc)"
    while IFS= read -r log; do
      show_log_tail "$log" 40
    done < <("${component}_logs")
  fi
  return "$rc"
}

cmd_up() {
  local started=$SECONDS component failed=()
  select_components "$@"
  ensure_packages "${COMPONENTS[@]}"
  for component in "${COMPONENTS[@]}"; do
    run_step "$component" up || failed+=("$component")
  done
  if ((${#failed[@]} > 0)); then
    warn infra "FAILED: ${failed[*]} (after $((SECONDS - started))s)"
    exit 1
  fi
  say infra "up: ${COMPONENTS[*]} ($((SECONDS - started))s)"
}

cmd_down() {
  local component failed=() i
  select_components "$@"
  # reverse order: jaeger, kafka, redis, postgres
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    component=${COMPONENTS[i]}
    run_step "$component" down || failed+=("$component")
  done
  if ((${#failed[@]} > 0)); then
    warn infra "could not stop: ${failed[*]}"
    exit 1
  fi
}

cmd_status() {
  local component
  select_components "$@"
  for component in "${COMPONENTS[@]}"; do
    "${component}_status" | sed 's/[[:space:]]*$//'
  done
}

main() {
  local command=${1:-}
  (($# == 0)) || shift
  case $command in
    up | down)
      if [[ -z ${PULSE_INFRA_LOCKED:-} ]]; then
        with_lock "$command" "$@"
      fi
      "cmd_$command" "$@"
      ;;
    status) cmd_status "$@" ;;
    kafka-topics) kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" "$@" ;;
    kafka-consumer-groups)
      kafka_cli org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$KAFKA_BOOTSTRAP" "$@"
      ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
