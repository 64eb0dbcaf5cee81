# shellcheck shell=bash
# Jaeger v2 (an OpenTelemetry Collector distribution) built from source with Go, run with
# infra/jaeger/config.yaml (its all-in-one configuration, trimmed): in-memory storage, OTLP gRPC
# :4317, OTLP HTTP :4318, UI + query API :16686.

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION=v1.76.0   # the Go module tag; the same commit is Jaeger v2.13.0
JAEGER_RELEASE=v2.13.0
JAEGER_LOG="$LOG_DIR/jaeger.log"
JAEGER_START_TIMEOUT=60

jaeger_bin() {
  if [[ -n ${JAEGER_BIN:-} ]]; then
    printf '%s\n' "$JAEGER_BIN"
  elif command -v go >/dev/null; then
    printf '%s/bin/jaeger\n' "$(go env GOPATH)"
  else
    printf '%s/go/bin/jaeger\n' "$HOME"
  fi
}

jaeger_logs() {
  printf '%s\n' "$JAEGER_LOG" "$LOG_DIR/jaeger-build.log"
}

# jaeger_build BIN — build the jaeger binary into BIN unless it is there.
#
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0` refuses to build it: the module's go.mod
# has a `replace` directive, which `go install pkg@version` does not allow. So the module is downloaded
# with `go mod download` and built inside its (read-only) module-cache directory, which honours go.mod
# and go.sum exactly. The UI is a placeholder page (the real one is a separate npm build that
# the module does not ship); the query API behind it is complete.
jaeger_build() {
  local bin=$1 log="$LOG_DIR/jaeger-build.log" dir
  if [[ -x $bin ]]; then
    say jaeger "binary present ($bin)"
    return 0
  fi
  if ! command -v go >/dev/null; then
    warn jaeger "Go is not installed, and it is needed once to build Jaeger ($JAEGER_MODULE $JAEGER_MODULE_VERSION)."
    warn jaeger "Install Go >= 1.24 (Debian 12's golang package is too old) so that \`go\` is on PATH, then re-run."
    return 1
  fi
  mkdir -p -- "$LOG_DIR" "$(dirname -- "$bin")"
  say jaeger "building $JAEGER_MODULE/cmd/jaeger@$JAEGER_MODULE_VERSION with $(go env GOVERSION) (once; several minutes; log: ${log#"$REPO"/})"
  if ! dir=$(GOTOOLCHAIN=local go mod download -json "$JAEGER_MODULE@$JAEGER_MODULE_VERSION" 2>>"$log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || [[ -z $dir ]]; then
    warn jaeger "go mod download $JAEGER_MODULE@$JAEGER_MODULE_VERSION failed"
    show_log_tail "$log"
    return 1
  fi
  if ! (cd -- "$dir" && GOTOOLCHAIN=local nice -n 10 go build -mod=readonly -trimpath \
    -ldflags "-s -w -X $JAEGER_MODULE/internal/version.latestVersion=$JAEGER_RELEASE" \
    -o "$bin.tmp" ./cmd/jaeger) >>"$log" 2>&1; then
    warn jaeger "go build failed"
    show_log_tail "$log"
    return 1
  fi
  mv -f -- "$bin.tmp" "$bin"
  say jaeger "built $bin"
}

jaeger_ready() {
  http_ok http://127.0.0.1:16686/ &&
    port_open 127.0.0.1 4317 &&
    port_open 127.0.0.1 4318
}

jaeger_up() {
  local bin pid rc=0
  bin=$(jaeger_bin)
  jaeger_build "$bin"
  if pid=$(running_pid jaeger jaeger); then
    say jaeger "already running (pid $pid)"
  else
    local port
    if jaeger_ready; then
      say jaeger "a Jaeger not started by this script already answers on 16686/4317/4318; using it"
      return 0
    fi
    for port in 16686 4317 4318; do
      if port_open 127.0.0.1 "$port"; then
        warn jaeger "port $port is taken by a process this script did not start (ss -ltnp 'sport = :$port')"
        return 1
      fi
    done
    say jaeger "starting $bin (infra/jaeger/config.yaml: OTLP in, in-memory storage)"
    # infra/jaeger/config.yaml is the embedded all-in-one configuration trimmed to OTLP in and the
    # query API out. JAEGER_LISTEN_HOST is read by it for the receivers (OTLP 4317/4318); the
    # UI/query API binds :16686.
    # GOGC/GOMEMLIMIT: the in-memory store is a large live heap, and Go's default GOGC=100 re-scanned
    # it so often that garbage collection took about a third of Jaeger's CPU while Pulse traced
    # every event; collect less often, but never let the heap grow past the limit.
    # JAEGER_UI_ASSETS: a built Jaeger UI (the jaeger-ui project's `build/` folder). Passed on only
    # when it holds an index.html: Jaeger refuses to start with an assets path that has none.
    local ui=()
    if [[ -n "${JAEGER_UI_ASSETS:-}" ]]; then
      if [[ -f "$JAEGER_UI_ASSETS/index.html" ]]; then
        say jaeger "serving the Jaeger UI from $JAEGER_UI_ASSETS"
        ui=(--set "extensions.jaeger_query.ui.assets_path=$JAEGER_UI_ASSETS")
      else
        warn jaeger "JAEGER_UI_ASSETS=$JAEGER_UI_ASSETS has no index.html; starting without a UI (the console shows traces)"
      fi
    fi
    start_daemon jaeger "$JAEGER_LOG" env JAEGER_LISTEN_HOST=127.0.0.1 \
      GOGC="${JAEGER_GOGC:-400}" GOMEMLIMIT="${JAEGER_GOMEMLIMIT:-2GiB}" "$bin" --config "$REPO/infra/jaeger/config.yaml" "${ui[@]}"
    pid=$(<"$(pidfile jaeger)")
  fi
  wait_for "$JAEGER_START_TIMEOUT" "$pid" jaeger_ready || rc=$?
  case $rc in
    0) say jaeger "ready: UI http://127.0.0.1:16686, OTLP grpc 127.0.0.1:4317, OTLP http http://127.0.0.1:4318 (pid $pid)" ;;
    2) warn jaeger "exited during start-up"; return 1 ;;
    *) warn jaeger "not answering on 16686/4317/4318 after ${JAEGER_START_TIMEOUT}s"; return 1 ;;
  esac
}

jaeger_down() {
  stop_daemon jaeger jaeger 30
}

jaeger_status() {
  local pid state detail="" ports
  if pid=$(running_pid jaeger jaeger); then
    state=running detail="pid $pid"
  else
    state=stopped
  fi
  ports="4317 $(port_word 127.0.0.1 4317), 4318 $(port_word 127.0.0.1 4318)"
  printf '%-9s %-8s port %-5s %-7s %s\n' jaeger "$state" 16686 \
    "$(if http_ok http://127.0.0.1:16686/; then echo open; else echo closed; fi)" "${detail:+$detail; }$ports"
}
