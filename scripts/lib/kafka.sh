# shellcheck shell=bash
# Apache Kafka 4.1 in KRaft mode (one combined broker + controller), assembled from Maven Central jars.

KAFKA_HOME="$RUN_DIR/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_CONFIG="$KAFKA_HOME/server.properties"
KAFKA_POM="$REPO/infra/kafka/pom.xml"
KAFKA_BASE_CONFIG="$REPO/infra/kafka/server.properties"
KAFKA_LOG4J="$REPO/infra/kafka/log4j2.yaml"
KAFKA_LOG="$LOG_DIR/kafka.log"       # written by log4j2 (see infra/kafka/log4j2.yaml)
KAFKA_STDOUT="$LOG_DIR/kafka.out"    # the JVM's own stdout/stderr (start-up failures, crashes)
KAFKA_BOOTSTRAP=127.0.0.1:9092
KAFKA_PORT=9092
KAFKA_START_TIMEOUT=90
KAFKA_MAIN=kafka.Kafka

kafka_logs() {
  printf '%s\n' "$KAFKA_STDOUT" "$KAFKA_LOG"
}

# kafka_java CLASS ARGS... — run a class from the Kafka libraries (tools, not the broker).
kafka_java() {
  java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$KAFKA_LIBS/*" "$@"
}

kafka_has_tools() {
  compgen -G "$KAFKA_LIBS/kafka-tools-[0-9]*.jar" >/dev/null
}

# kafka_libs — copy Kafka and its runtime dependencies into .run/kafka/libs, unless the marker file there
# says it was done for the current infra/kafka/pom.xml.
kafka_libs() {
  local hash marker="$KAFKA_LIBS/.pom.sha256" log="$LOG_DIR/kafka-mvn.log" tmp="$KAFKA_LIBS.tmp"
  hash=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if [[ -f $marker && $(<"$marker") == "$hash" ]]; then
    say kafka "libraries up to date ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in ${KAFKA_LIBS#"$REPO"/})"
    return 0
  fi
  # The machine may be warming ~/.m2 with the same command in the background.
  say kafka "copying libraries from Maven (infra/kafka/pom.xml) into ${KAFKA_LIBS#"$REPO"/}"
  rm -rf -- "$tmp"
  mkdir -p -- "$KAFKA_HOME" "$LOG_DIR"
  if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
    warn kafka "mvn dependency:copy-dependencies failed"
    show_log_tail "$log"
    return 1
  fi
  printf '%s\n' "$hash" >"$tmp/.pom.sha256"
  rm -rf -- "$KAFKA_LIBS"
  mv -- "$tmp" "$KAFKA_LIBS"
  if running_pid kafka "$KAFKA_MAIN" >/dev/null; then
    warn kafka "libraries changed while the broker runs; restart it: scripts/infra.sh down kafka && scripts/infra.sh up kafka"
  fi
}

# kafka_config — the effective configuration: the committed file plus this checkout's log.dirs.
kafka_config() {
  mkdir -p -- "$KAFKA_HOME"
  {
    cat -- "$KAFKA_BASE_CONFIG"
    printf '\n# ---- added by scripts/lib/kafka.sh\nlog.dirs=%s\n' "$KAFKA_DATA"
  } >"$KAFKA_CONFIG.tmp"
  mv -- "$KAFKA_CONFIG.tmp" "$KAFKA_CONFIG"
}

# kafka_format — format the KRaft storage once (skipped when meta.properties exists).
kafka_format() {
  local id_file="$KAFKA_HOME/cluster-id" cluster_id
  if [[ -f $KAFKA_DATA/meta.properties ]]; then
    say kafka "storage already formatted ($(sed -n 's/^cluster.id=//p' "$KAFKA_DATA/meta.properties"))"
    return 0
  fi
  if [[ -s $id_file ]]; then
    cluster_id=$(<"$id_file")
  else
    cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid)
    printf '%s\n' "$cluster_id" >"$id_file"
  fi
  say kafka "formatting KRaft storage in ${KAFKA_DATA#"$REPO"/} (cluster id $cluster_id)"
  mkdir -p -- "$KAFKA_DATA"
  if ! kafka_java kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$KAFKA_CONFIG" \
    >"$LOG_DIR/kafka-format.log" 2>&1; then
    warn kafka "kafka.tools.StorageTool format failed"
    show_log_tail "$LOG_DIR/kafka-format.log"
    return 1
  fi
}

# kafka_answers — the broker accepts clients: a TCP connect, then (when the CLI tools are among the
# libraries) a metadata request through TopicCommand --list.
kafka_answers() {
  port_open 127.0.0.1 "$KAFKA_PORT" || return 1
  kafka_has_tools || return 0
  timeout 30 java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$KAFKA_LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --list >/dev/null 2>&1
}

kafka_port_open() {
  port_open 127.0.0.1 "$KAFKA_PORT"
}

kafka_up() {
  local pid rc=0 heap_opts=()
  kafka_libs
  kafka_config
  if pid=$(running_pid kafka "$KAFKA_MAIN"); then
    say kafka "already running (pid $pid)"
  else
    if port_open 127.0.0.1 "$KAFKA_PORT"; then
      # another checkout's (or the system's) broker: fine if it answers as Kafka
      if kafka_answers; then
        say kafka "a broker not started by this script already answers on 127.0.0.1:$KAFKA_PORT; using it"
        return 0
      fi
      warn kafka "port $KAFKA_PORT is taken by a process this script did not start (ss -ltnp 'sport = :$KAFKA_PORT')"
      return 1
    fi
    kafka_format
    read -r -a heap_opts <<<"${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"
    say kafka "starting the broker (log: ${KAFKA_LOG#"$REPO"/})"
    start_daemon kafka "$KAFKA_STDOUT" java "${heap_opts[@]}" \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$KAFKA_LOG4J" -Dlog4j2.shutdownHookEnabled=false \
      -cp "$KAFKA_LIBS/*" "$KAFKA_MAIN" "$KAFKA_CONFIG"
    pid=$(<"$(pidfile kafka)")
  fi

  say kafka "waiting for $KAFKA_BOOTSTRAP (at most ${KAFKA_START_TIMEOUT}s)"
  local started=$SECONDS
  wait_for "$KAFKA_START_TIMEOUT" "$pid" kafka_port_open || rc=$?
  if ((rc == 0)); then
    wait_for $((KAFKA_START_TIMEOUT - (SECONDS - started))) "$pid" kafka_answers || rc=$?
  fi
  case $rc in
    0) say kafka "ready: $KAFKA_BOOTSTRAP (pid $pid, $((SECONDS - started))s)" ;;
    2) warn kafka "the broker exited during start-up"; return 1 ;;
    *) warn kafka "no answer on $KAFKA_BOOTSTRAP after ${KAFKA_START_TIMEOUT}s"; return 1 ;;
  esac
}

kafka_down() {
  stop_daemon kafka "$KAFKA_MAIN" 60
}

kafka_status() {
  local pid state detail=""
  if pid=$(running_pid kafka "$KAFKA_MAIN"); then
    state=running detail="pid $pid"
  else
    state=stopped
  fi
  printf '%-9s %-8s port %-5s %-7s %s\n' kafka "$state" "$KAFKA_PORT" \
    "$(port_word 127.0.0.1 "$KAFKA_PORT")" "$detail"
}

# kafka_cli CLASS ARGS... — a Kafka command-line tool against the local broker.
kafka_cli() {
  if ! kafka_has_tools; then
    warn kafka "the Kafka CLI tools are not in ${KAFKA_LIBS#"$REPO"/}; run: scripts/infra.sh up kafka"
    return 1
  fi
  kafka_java "$@"
}
