#!/usr/bin/env bash
# The test command: sets up what the tests need (a Python venv with the real
# OpenTelemetry SDK exporters and LLM instrumentations), then runs every test of the
# workspace in the release profile (DuckDB's C++ is built once, for release only).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${LLM_OBSERVATORY_VENV:-$HOME/.cache/llm-observatory/venv}"
stamp="$venv/.requirements.sha256"
want=$(sha256sum tests/python/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up the Python test clients in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
  echo "$want" > "$stamp"
fi
export LLM_OBSERVATORY_PYTHON="$venv/bin/python"

# CI exports CARGO_TARGET_DIR to a cache outside the clone; by default cargo uses ./target.
cargo test --release --workspace --locked
