#!/usr/bin/env bash
# Installs the external tools the tests check the project against, idempotently:
# a Python virtualenv at .venv with the official Tencent signer (tls-sig-api-v2),
# Helm's own code (helm-sdkpy) and the official Prometheus parser (prometheus-client),
# a real Lua 5.4 interpreter for the Argo CD health check, and Prometheus's promtool.
# Quiet when everything is present; any failure stops with an error.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "install-test-tools: $*" >&2
  exit 1
}

venv_has() {
  .venv/bin/python -c "import $1" >/dev/null 2>&1
}

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || fail "could not create .venv (is python3-venv installed?)"
fi

pip_install() {
  .venv/bin/pip install -q --disable-pip-version-check "$@" ||
    fail "pip install $* failed"
}

if ! venv_has TLSSigAPIv2; then
  pip_install tls-sig-api-v2
fi
if ! venv_has helm_sdkpy; then
  # helm-sdkpy declares Python >= 3.12 but works on 3.11 (a cffi binding).
  pip_install --ignore-requires-python helm-sdkpy
fi
if ! venv_has prometheus_client; then
  pip_install prometheus-client
fi
venv_has TLSSigAPIv2 || fail "TLSSigAPIv2 is not importable from .venv"
.venv/bin/python -c "import helm_sdkpy; helm_sdkpy.get_version()" >/dev/null ||
  fail "helm_sdkpy is installed but its Helm library does not load"
venv_has prometheus_client.openmetrics.parser ||
  fail "prometheus_client is not importable from .venv"

if ! command -v lua5.4 >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 ||
    fail "lua5.4 is not on PATH and apt-get is unavailable; install Lua 5.4"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  # Output is shown only when a step fails.
  apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; fail "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.4 >"$log" 2>&1 ||
    { cat "$log" >&2; fail "apt-get install lua5.4 failed"; }
fi
lua5.4 -e 'assert(_VERSION == "Lua 5.4")' || fail "lua5.4 does not run"

# Prometheus's own promtool checks and unit-tests the chart's alert rules.
if ! command -v promtool >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 ||
    fail "promtool is not on PATH and apt-get is unavailable; install Prometheus"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; fail "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >"$log" 2>&1 ||
    { cat "$log" >&2; fail "apt-get install prometheus failed"; }
fi
promtool --version >/dev/null 2>&1 || fail "promtool does not run"
