#!/usr/bin/env bash
# The whole app in a real window under Xvfb, saved as a screenshot:
#
#   bash tests/window_screenshot.sh [OUT] [MODE]
#
# MODE live (the default): --demo with the load generator streaming spans into it over
#   OTLP/gRPC (default OUT: tests/screenshots/overview-live.png);
# MODE demo: --demo alone, its own synthetic stream arriving (the window's live demo);
# MODE first-run: a new, empty database: the getting-started panel.
# Needs Xvfb (Debian: xvfb); tests/run.sh installs it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-tests/screenshots/overview-live.png}"
mode="${2:-live}"
case "$mode" in
  live | demo) open=(--demo) ;;
  first-run) open=() ;;
  *) echo "unknown mode $mode (live, demo or first-run)" >&2; exit 2 ;;
esac
bin="${CARGO_TARGET_DIR:-target}/release/llm-observatory"
[ -x "$bin" ] || cargo build --release --locked -p llm-observatory
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"

work="$(mktemp -d)"
cleanup() {
  [ -n "${app:-}" ] && kill "$app" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A private display, data and config folders: the user's own files are not touched.
display=":$((90 + RANDOM % 100))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
export DISPLAY="$display" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
unset WAYLAND_DISPLAY
export WGPU_BACKEND="${WGPU_BACKEND:-gl}"

grpc_port=$((20000 + RANDOM % 20000))
http_port=$((grpc_port + 1))
rm -f "$out"
"$bin" ${open[@]+"${open[@]}"} --grpc "127.0.0.1:$grpc_port" --http "127.0.0.1:$http_port" \
  --screenshot "$out" --screenshot-after 12s >"$work/app.log" 2>&1 &
app=$!

# Wait for the receivers (the demo database is generated on first start).
for _ in $(seq 300); do
  (echo >"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null && break
  kill -0 "$app" 2>/dev/null || { cat "$work/app.log"; echo "the app exited early" >&2; exit 1; }
  sleep 0.1
done
# Keep spans flowing until the screenshot is taken, so that the live indicator shows it.
(
  while [ "$mode" = live ] && kill -0 "$app" 2>/dev/null; do
    "$bin" loadgen --endpoint "http://127.0.0.1:$grpc_port" --spans 3000 --concurrency 1 \
      --batch 256 --seed "$RANDOM" >>"$work/loadgen.log" 2>&1 || break
    sleep 0.3
  done
) &
feeder=$!

wait "$app"
app=
# The app is gone: stop the feeder and the load generator it may be running (which would
# otherwise retry against the closed port).
kill "$feeder" 2>/dev/null || true
pkill -f "loadgen --endpoint http://127.0.0.1:$grpc_port" 2>/dev/null || true
wait "$feeder" 2>/dev/null || true
[ "$mode" != live ] || grep -q "acknowledged" "$work/loadgen.log" || { cat "$work/loadgen.log"; echo "the load generator sent nothing" >&2; exit 1; }
app=
cat "$work/app.log"
[ -s "$out" ] || { echo "no screenshot was written" >&2; exit 1; }
python3 - "$out" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", head[16:24])
assert w >= 900 and h >= 560, f"unexpected size {w}x{h}"
print(f"screenshot {sys.argv[1]}: {w}x{h}")
PY
