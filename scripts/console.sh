#!/usr/bin/env bash
# Builds and tests the web console (console/), with the machine's Node.js (or Debian's nodejs + npm
# when there is none).
#   scripts/console.sh build   npm ci + codegen + vite build, skipped when console/dist is newer than
#                              every source file, the lockfile and graphql/schema.graphql
#   scripts/console.sh test    codegen drift check, typecheck, Vitest, build, first-load size budget,
#                              then Playwright end-to-end tests in Debian's chromium against the
#                              services on 8080/8081/8082 (which must be running: `make console-test`
#                              starts them)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/console"
STAMP="$DIR/dist/.stamp"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

apt_install() {
  echo "==> console: installing $* with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Node.js >= 20.19 (Vite 8); Debian 12's own nodejs is 18, so a machine without a recent Node.js
# gets a message instead of a console: `make up` goes on without it, `make console-test` fails.
node_ok() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'
}

ensure_node() {
  if ! node_ok; then
    echo "!! the console needs Node.js >= 20.19 (found $(node --version 2>/dev/null || echo none)); install it (e.g. from nodejs.org or NodeSource) and re-run" >&2
    return 1
  fi
}

ensure_deps() {
  # npm ci only when the lockfile changed since the last install
  if [[ ! -f "$DIR/node_modules/.package-lock.json" || "$DIR/package-lock.json" -nt "$DIR/node_modules/.package-lock.json" ]]; then
    echo "==> console: npm ci"
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_chromium() {
  if [[ ! -x /usr/bin/chromium ]]; then
    apt_install chromium
  fi
}

up_to_date() {
  [[ -f "$STAMP" && -f "$DIR/dist/index.html" && -f "$DIR/dist/graphiql.html" ]] || return 1
  local newer
  newer="$(find "$DIR/src" "$DIR/graphiql" "$DIR/index.html" "$DIR/graphiql.html" "$DIR/package-lock.json" \
    "$DIR/vite.config.ts" "$DIR/codegen.ts" "$DIR/tsconfig.json" "$ROOT/graphql/schema.graphql" \
    -newer "$STAMP" -print -quit 2>/dev/null)"
  [[ -z "$newer" ]]
}

build() {
  if ! ensure_node; then
    [[ "${1:-}" == strict ]] && exit 1
    echo "!! make up continues without the console: http://localhost:8081/ will say how to build it" >&2
    return 0
  fi
  if [[ "${1:-}" != force ]] && up_to_date; then
    echo "==> console: up to date (console/dist)"
    return 0
  fi
  ensure_deps
  echo "==> console: codegen + build"
  (cd "$DIR" && npx graphql-codegen --config codegen.ts --silent && npx tsc -p . && npx vite build --logLevel warn)
  touch "$STAMP"
  (cd "$DIR" && node scripts/bundle-size.mjs | tail -n 1)
}

test_all() {
  ensure_node || exit 1
  ensure_deps
  echo "==> console: the generated types match graphql/schema.graphql (codegen --check)"
  (cd "$DIR" && npx graphql-codegen --config codegen.ts --check --silent) || {
    echo "!! console/src/gql is stale or an operation does not match graphql/schema.graphql: run 'cd console && npm run codegen'" >&2
    exit 1
  }
  echo "==> console: typecheck"
  (cd "$DIR" && npx tsc -p . && npx tsc -p e2e)
  echo "==> console: vitest"
  (cd "$DIR" && npx vitest run --reporter=dot)
  build strict
  echo "==> console: first-load size"
  (cd "$DIR" && node scripts/bundle-size.mjs)
  ensure_chromium
  echo "==> console: playwright (chromium) against the running services"
  (cd "$DIR" && npx playwright test)
}

case "${1:-}" in
  build) build "${2:-}" ;;  # build [force|strict]
  test) test_all ;;
  *) echo "usage: $0 build [force|strict] | test" >&2; exit 2 ;;
esac
