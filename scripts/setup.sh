#!/usr/bin/env bash
# Installs what building (and, with `test`, testing) the portal needs. Idempotent: each step
# checks first and does nothing when the tool is already there at the pinned version.
#   scripts/setup.sh build   – wasm target, wasm-bindgen-cli, wasm-opt, esbuild
#   scripts/setup.sh test    – the above plus Chromium, ChromeDriver, Prometheus and Alertmanager
#   scripts/setup.sh bench   – the above plus the benchmarks' peers: Debian's ClickHouse 18.16,
#                              pinned (scripts/bench_logs.sh, scripts/bench_traces.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
# wasm-bindgen-cli must equal the wasm-bindgen library in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
# npm's binaryen; Debian's wasm-opt 108 breaks hydration of release builds.
BINARYEN_VERSION=132.0.0
# npm's esbuild: minifies the bundle's JavaScript and CSS (scripts/build_site.sh).
ESBUILD_VERSION=0.28.2

log() { printf 'setup: %s\n' "$*" >&2; }

need_apt=()
want_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$1"); }
# A package at one version: installed (or moved) to it unless it is there already.
want_pin() {
  [ "$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null)" = "install ok installed $2" ] || need_apt+=("$1=$2")
}

if [ "$mode" = test ] || [ "$mode" = bench ]; then
  want_pkg chromium
  want_pkg chromium-driver
  want_pkg prometheus
  want_pkg prometheus-node-exporter
  want_pkg victoria-metrics
  want_pkg prometheus-alertmanager
  # rsyslog's omelasticsearch ships lines to the portal's Elasticsearch bulk API (#16).
  want_pkg rsyslog
  want_pkg rsyslog-elasticsearch
  # logstore/tests/crash.rs kills a writer inside a retention drop with strace's --inject.
  want_pkg strace
fi
if [ "$mode" = bench ]; then
  # The issues' benchmark peer (#16, #17); the benches start their own throwaway server
  # (scripts/clickhouse_peer.sh), so the version is fixed here and in that script.
  want_pin clickhouse-server 18.16.1+ds-7.3+b2
  want_pin clickhouse-client 18.16.1+ds-7.3+b2
fi
command -v npm >/dev/null || want_pkg npm
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts the stores it installs as services; the tests start their own. Only the
  # services of packages installed just now are stopped: a store the host already ran stays.
  for pkg in "${need_apt[@]}"; do
    case "$pkg" in
      prometheus) systemctl disable --now prometheus >/dev/null 2>&1 || true ;;
      prometheus-node-exporter) systemctl disable --now prometheus-node-exporter >/dev/null 2>&1 || true ;;
      victoria-metrics) systemctl disable --now victoria-metrics >/dev/null 2>&1 || true ;;
      prometheus-alertmanager) systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true ;;
      rsyslog) systemctl disable --now rsyslog >/dev/null 2>&1 || true ;;
      clickhouse-server=*) systemctl disable --now clickhouse-server >/dev/null 2>&1 || true ;;
    esac
  done
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lockfile pins a webpki-roots version the registry here lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi

if [ ! -x .tools/node_modules/.bin/wasm-opt ] \
  || [ "$(node -p "require('./.tools/node_modules/binaryen/package.json').version" 2>/dev/null)" != "$BINARYEN_VERSION" ]; then
  log "npm install binaryen@$BINARYEN_VERSION into .tools/"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >/dev/null
fi

if [ ! -x .tools/node_modules/.bin/esbuild ] \
  || [ "$(node -p "require('./.tools/node_modules/esbuild/package.json').version" 2>/dev/null)" != "$ESBUILD_VERSION" ]; then
  log "npm install esbuild@$ESBUILD_VERSION into .tools/"
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --silent "esbuild@$ESBUILD_VERSION" >/dev/null
fi

# The Python clients the tests drive (OpenTelemetry's SDK and exporters, …), pinned in
# tests/python/requirements.txt, in a virtual environment of their own.
if [ "$mode" = test ] || [ "$mode" = bench ]; then
  VENV=.tools/venv
  if ! cmp -s tests/python/requirements.txt "$VENV/installed-requirements.txt"; then
    log "pip install -r tests/python/requirements.txt into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
    cp tests/python/requirements.txt "$VENV/installed-requirements.txt"
  fi
fi
