#!/usr/bin/env bash
# The test command: sets up what the tests need (a Python venv with the real
# OpenTelemetry SDK exporters and LLM instrumentations, Xvfb for the real window), then
# runs every test of the workspace in the release profile (DuckDB's C++ is built once,
# for release only) and the whole app in a window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Xvfb for the window test, libfaketime for the clock-jump fault and
# digest tests, chromium for opening the HTML report in a real headless browser,
# poppler-utils for reading the PDF report back (its text, attachment and pages).
missing=()
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v faketime >/dev/null || missing+=(faketime)
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (Debian packages) for the window, fault, digest and report tests"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

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

# UI snapshots are rendered by Mesa's software rasterizer through GL, in UTC, so that
# they are the same on every machine without a GPU.
export WGPU_BACKEND="${WGPU_BACKEND:-gl}" TZ="${TZ:-UTC}"
unset DISPLAY WAYLAND_DISPLAY

# CI exports CARGO_TARGET_DIR to a cache outside the clone; by default cargo uses ./target.
cargo test --release --workspace --locked
bash tests/window_screenshot.sh "${CARGO_TARGET_DIR:-target}/screenshots/overview-live.png"
