#!/usr/bin/env bash
# CPU benchmark of the real window: opens DATABASE under Xvfb on the software renderer,
# optionally streams RATE spans/s into it over OTLP/gRPC with the load generator, lets
# it settle for 15 s, then reads the process's CPU time per thread from /proc over
# SECONDS and prints the average share of one core: the whole process, the drawing
# (the UI thread and Mesa's llvmpipe threads), the query workers, and the rest
# (receivers, the writer, DuckDB); and the frames drawn (counted from the app's frame
# log). KEEP_LOG=FILE keeps that log, with what asked for each frame. Linux only (it
# reads /proc).
#   tests/bench_cpu.sh DATABASE [RATE=0] [SECONDS=60]
set -euo pipefail
db="$1"; rate="${2:-0}"; seconds="${3:-60}"
bin="${CARGO_TARGET_DIR:-target}/release/llm-observatory"
work="$(mktemp -d)"
cleanup() {
  kill "${app:-}" "${feeder:-}" "${xvfb:-}" 2>/dev/null || true
  [ -z "${KEEP_LOG:-}" ] || cp "$work/app.log" "$KEEP_LOG"
  rm -rf "$work"
}
trap cleanup EXIT
source "$(dirname "$0")/window_bench_env.sh"
start_xvfb
if [ "$rate" -gt 0 ]; then start_loadgen "$rate"; fi
DISPLAY="$display" WGPU_BACKEND="${WGPU_BACKEND:-gl}" XDG_DATA_HOME="$work/data" \
  XDG_CONFIG_HOME="$work/config" LLM_OBSERVATORY_LOG="warn,frame=trace" \
  "$bin" "$db" --grpc "127.0.0.1:$port" --http off --window-size "$window" 2>"$work/app.log" &
app=$!
sleep 15
kill -0 "$app" 2>/dev/null || { cat "$work/app.log"; echo "the window exited"; exit 1; }

# Clock ticks per thread, as "name ticks" lines (utime + stime, fields 14 and 15 of
# /proc/PID/task/TID/stat; the name is read from comm, which may hold spaces).
ticks() {
  for t in /proc/"$app"/task/*; do
    [ -r "$t/stat" ] || continue
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    read -r -a f <<<"$rest"
    echo "$(tr ' ' '_' <"$t/comm") $(( f[11] + f[12] )) ${t##*/}"
  done
}
frames() { grep -c 'TRACE' "$work/app.log" || true; }
frames_before=$(frames)
ticks >"$work/before"
sleep "$seconds"
ticks >"$work/after"
frames_after=$(frames)
hz=$(getconf CLK_TCK)
awk -v hz="$hz" -v s="$seconds" -v main="$app" '
  NR == FNR { before[$3] = $2; next }
  {
    used = ($2 - before[$3]) / hz
    if ($3 == main || $1 ~ /^llvmpipe/ || $1 ~ /^gallium/ || $1 ~ /^WgpuDevice/) group = "drawing"
    else if ($1 ~ /^query-/) group = "queries"
    else group = "the rest"
    total += used; by[group] += used
  }
  END {
    printf "CPU over %d s, as a share of one core: process %.1f %%\n", s, 100 * total / s
    for (g in by) printf "  %-8s %.1f %%\n", g, 100 * by[g] / s
  }' "$work/before" "$work/after"
awk -v n=$((frames_after - frames_before)) -v s="$seconds" \
  'BEGIN { printf "  frames   %d (%.1f a second)\n", n, n / s }'
if [ "$rate" -gt 0 ]; then tail -n 3 "$work/loadgen.log" || true; fi
