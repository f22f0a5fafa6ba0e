#!/usr/bin/env bash
# Soak: streams RATE spans/s (default 5000) over OTLP/gRPC for MINUTES (default 30) into
# `serve` with retention pruning on (--retain RETAIN, default 10m, every minute) and its alert
# evaluator reading the same database every second, then reports the collector's
# resident memory over time (it must plateau), spans acknowledged against spans stored
# plus spans retention deleted (they must be equal), and the export calls' latency.
#
#   bash tests/soak.sh [MINUTES] [RATE] [RETAIN]
#
# The load comes as 30-second `loadgen` runs, each with its own seed (new ids, times
# around now), retrying overload answers as OTLP exporters do.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-30}"
rate="${2:-5000}"
retain="${3:-10m}"
bin="${CARGO_TARGET_DIR:-target}/release/llm-observatory"
[ -x "$bin" ] || cargo build --release --locked -p llm-observatory
dir=$(mktemp -d)
db="$dir/soak.duckdb"
trap 'kill $serve_pid $sampler_pid 2>/dev/null || true' EXIT

"$bin" serve --db "$db" --grpc 127.0.0.1:0 --http 127.0.0.1:0 --retain "$retain" \
  --alert-every 1s >"$dir/serve.out" 2>"$dir/serve.err" &
serve_pid=$!
for _ in $(seq 100); do
  grep -q "listening for OTLP/gRPC" "$dir/serve.out" 2>/dev/null && break
  sleep 0.1
done
grpc=$(sed -n 's/^listening for OTLP\/gRPC on //p' "$dir/serve.out")
[ -n "$grpc" ] || { cat "$dir/serve.err"; exit 1; }

# Resident memory every 10 s: seconds since start, KiB.
start=$(date +%s)
(
  while kill -0 "$serve_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss" >>"$dir/rss.tsv"
    sleep 10
  done
) &
sampler_pid=$!

runs=$(( minutes * 2 ))
echo "soak: $rate spans/s for $minutes min into $db (pid $serve_pid)"
for i in $(seq "$runs"); do
  "$bin" loadgen --endpoint "http://$grpc" --protocol grpc --spans $(( rate * 30 )) \
    --rate "$rate" --seed "$i" --json >>"$dir/runs.jsonl"
done
kill -TERM "$serve_pid"
wait "$serve_pid" || { echo "serve exited with $?"; cat "$dir/serve.err"; exit 1; }
kill "$sampler_pid" 2>/dev/null || true

"$bin" stats --db "$db" --json >"$dir/stats.json"
python3 - "$dir" "$minutes" "$rate" <<'EOF'
import json, statistics, sys
d, minutes, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = [json.loads(l) for l in open(f"{d}/runs.jsonl")]
acked = sum(r["acknowledged"] for r in runs)
sent = sum(r["sent"] for r in runs)
retries = sum(r["retries"] for r in runs)
p99 = [r["latency_ms"]["p99"] for r in runs]
pruned = sum(int(l.split()[2]) for l in open(f"{d}/serve.out") if l.startswith("retention deleted"))
stored = json.load(open(f"{d}/stats.json"))["spans"]
rss = [tuple(map(int, l.split())) for l in open(f"{d}/rss.tsv")]
def peak(lo, hi):
    xs = [k for t, k in rss if lo <= t < hi]
    return max(xs) / 1024 if xs else float("nan")
span = rss[-1][0] if rss else 0
print(f"soak: {minutes} min at {rate} spans/s target, {len(runs)} loadgen runs")
print(f"  sent {sent}, acknowledged {acked} ({acked / (len(runs) * 30):.0f}/s), retries {retries}")
print(f"  stored {stored} + deleted by retention {pruned} = {stored + pruned}")
print(f"  export p99 per run: median {statistics.median(p99):.1f} ms, max {max(p99):.1f} ms")
thirds = [peak(0, span / 3), peak(span / 3, 2 * span / 3), peak(2 * span / 3, span + 1)]
print("  RSS peak by third of the run: " + ", ".join(f"{x:.0f} MiB" for x in thirds))
for t, k in rss[:: max(1, len(rss) // 12)]:
    print(f"    {t:5d} s  {k / 1024:7.0f} MiB")
ok = acked == stored + pruned and thirds[2] <= thirds[1] * 1.2 + 16
print("  " + ("OK" if ok else "FAILED") + ": acknowledged == stored + deleted, memory plateaus")
sys.exit(0 if ok else 1)
EOF
