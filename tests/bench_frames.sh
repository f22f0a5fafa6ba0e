#!/usr/bin/env bash
# Frame-time benchmark of the real window: opens DATABASE (e.g. a 10M-span demo made
# with `llm-observatory demo --db big.duckdb --traces 2130000`) under Xvfb on the
# software renderer, streams spans into it over OTLP/gRPC at RATE spans/s with the load
# generator, and prints the frame-time percentiles of FRAMES continuously repainted
# frames and the time from launch to the first frame showing data. RATE 0 streams
# nothing (the load generator's own --rate 0 would mean "as fast as it can").
# WINDOW=3840x2160 sets the window's size (default 1440x900); WGPU_BACKEND picks the
# renderer (default gl: llvmpipe without a GPU).
#   tests/bench_frames.sh DATABASE [RATE=10000] [FRAMES=600]
set -euo pipefail
db="$1"; rate="${2:-10000}"; frames="${3:-600}"
bin="${CARGO_TARGET_DIR:-target}/release/llm-observatory"
work="$(mktemp -d)"
cleanup() { kill "${feeder:-}" "${xvfb:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/window_bench_env.sh"
start_xvfb
if [ "$rate" -gt 0 ]; then start_loadgen "$rate"; fi
DISPLAY="$display" WGPU_BACKEND="${WGPU_BACKEND:-gl}" XDG_DATA_HOME="$work/data" \
  XDG_CONFIG_HOME="$work/config" "$bin" "$db" --grpc "127.0.0.1:$port" --http off \
  --window-size "$window" --bench-frames "$frames" 2>"$work/app.log" ||
  { echo "the window failed; its last words:" >&2; tail -20 "$work/app.log" >&2; exit 1; }
