# shellcheck shell=bash
# System packages and tool chains the native set-up needs.

# apt_missing PACKAGE... — print the packages that are not installed.
apt_missing() {
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii'; then
      printf '%s\n' "$pkg"
    fi
  done
}

# ensure_packages COMPONENT... — install with apt-get what the given components (and the Rust build:
# zlib, pkg-config; the load tests: wrk) need and is missing. `apt-get update` runs only when something
# has to be installed.
ensure_packages() {
  local wanted=(zlib1g-dev pkg-config wrk curl) missing=() component
  for component in "$@"; do
    case $component in
      postgres) wanted+=(postgresql) ;;
      redis) wanted+=(redis-server) ;;
      kafka)
        command -v java >/dev/null || wanted+=(openjdk-17-jre-headless)
        command -v mvn >/dev/null || wanted+=(maven)
        ;;
    esac
  done

  mapfile -t missing < <(apt_missing "${wanted[@]}")
  if ((${#missing[@]} == 0)); then
    say packages "all present (${wanted[*]})"
    return 0
  fi

  local log="$LOG_DIR/apt.log"
  say packages "installing with apt-get: ${missing[*]} (log: ${log#"$REPO"/})"
  if ! {
    as_root apt-get -o DPkg::Lock::Timeout=600 update &&
      as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}"
  } >"$log" 2>&1; then
    warn packages "apt-get failed"
    show_log_tail "$log"
    return 1
  fi
}
