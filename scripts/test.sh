#!/usr/bin/env bash
# The whole test suite. Installs what the tests need first (kubectl, and a Python
# virtualenv with the official Tencent signer), then checks formatting and lints and
# runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl (Debian kubernetes-client)"
  apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null
fi

if ! .venv/bin/python -c "import TLSSigAPIv2" >/dev/null 2>&1; then
  echo "installing the Python test tools into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check tls-sig-api-v2
fi
export CHATGROUP_PYTHON="$PWD/.venv/bin/python"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
