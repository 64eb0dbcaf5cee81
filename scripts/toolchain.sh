#!/usr/bin/env bash
# Checks the build toolchain Pulse needs (Rust >= 1.94 with rustfmt and clippy, a C compiler and
# make for the bundled librdkafka, curl) and installs the Debian packages that are missing.
set -euo pipefail

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v make >/dev/null || need_apt+=(make)
command -v curl >/dev/null || need_apt+=(curl)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
if ((${#need_apt[@]})); then
  echo "==> toolchain: installing ${need_apt[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "!! cargo not found: install Rust >= 1.94 (rustup) and re-run" >&2
  exit 1
fi
version="$(rustc --version | awk '{print $2}')"
if [[ "$(printf '%s\n1.94.0\n' "$version" | sort -V | head -n1)" != "1.94.0" ]]; then
  echo "!! rustc $version is too old: Pulse needs >= 1.94" >&2
  exit 1
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "==> toolchain: adding $component"
    rustup component add "$component"
  fi
done
echo "==> toolchain: rustc $version ok"
