#!/usr/bin/env bash
# The whole test suite. Installs what the tests need first (kubectl, a Python
# virtualenv with the official Tencent signer and Helm, Lua), then checks formatting
# and lints and runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl (Debian kubernetes-client)"
  apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null
fi

# .venv with the official Tencent signer and helm-sdkpy (Helm's own code), and a
# real Lua interpreter for the Argo CD health check.
bash scripts/install-test-tools.sh
export CHATGROUP_PYTHON="$PWD/.venv/bin/python"

# A one-off build gains nothing from incremental artifacts, which double its size.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
