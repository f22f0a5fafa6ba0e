# Sourced by the window benchmarks (bench_frames.sh, bench_cpu.sh): a private Xvfb
# display and the load generator feeding the window's OTLP/gRPC port. Expects `bin`
# (the release binary) and `work` (a scratch folder); sets `display`, `xvfb`, `port`
# and, when started, `feeder`. WINDOW=WIDTHxHEIGHT (default 1440x900) is the window's
# size; the screen is made a little larger.
window="${WINDOW:-1440x900}"

# Starts Xvfb on a random display and waits for its socket.
start_xvfb() {
  display=":$((90 + RANDOM % 100))"
  local w="${window%x*}" h="${window#*x}"
  Xvfb "$display" -screen 0 "$((w + 160))x$((h + 100))x24" -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
  port=$((20000 + RANDOM % 20000))
}

# Streams RATE spans/s into 127.0.0.1:$port once the window listens there.
start_loadgen() {
  local rate="$1"
  (
    for _ in $(seq 300); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    exec "$bin" loadgen --endpoint "http://127.0.0.1:$port" --rate "$rate" --spans 100000000 \
      --concurrency 2 --batch 512 >"$work/loadgen.log" 2>&1
  ) &
  feeder=$!
}
