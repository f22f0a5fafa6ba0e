#!/usr/bin/env bash
# Coverage-guided fuzzing of everything that parses what users and clients send: builds
# the targets of tests/fuzz with cargo-fuzz (libFuzzer, address sanitizer) on the
# nightly toolchain, seeds each corpus from tests/fixtures and assets, and runs each
# target for SECONDS (default 60). CI runs `bash tests/fuzz.sh 30`.
#
#   bash tests/fuzz.sh [SECONDS] [TARGET ...]
#
# Targets: otlp_json, dump_file, normalize, query_language, rules_file, price_file. A crash stops
# the run with the input saved under tests/fuzz/artifacts/TARGET/ and the command that
# replays it; turn it into a regression test before fixing it. The fuzz crate uses
# `store` and `ingest` without their `duckdb`/`database` features, so nothing here
# compiles DuckDB; its own target folder keeps the nightly build apart.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(otlp_json dump_file normalize query_language rules_file price_file)

export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/llm-observatory/fuzz-target}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "tests/fuzz.sh needs the nightly toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo +nightly fuzz build --fuzz-dir tests/fuzz -O

corpus_root="${FUZZ_CORPUS:-$HOME/.cache/llm-observatory/fuzz-corpus}"
seed() {
  local dir="$corpus_root/$1"
  mkdir -p "$dir"
  case "$1" in
    otlp_json)
      for f in tests/fixtures/*.jsonl; do
        split -l 1 -d -a 3 "$f" "$dir/$(basename "$f" .jsonl)-"
      done ;;
    dump_file)
      cp tests/fixtures/*.jsonl tests/fixtures/*.pb "$dir/"
      gzip -c tests/fixtures/openllmetry-openai.jsonl >"$dir/openllmetry.jsonl.gz" ;;
    normalize)
      cp tests/fixtures/*.pb "$dir/" ;;
    query_language)
      printf '%s' 'refund "credit card" -cancel model:gpt-4o* status:error latency>2s' >"$dir/q1"
      printf '%s' 'provider:openai service:checkout error:429 session:s-1 user:u-9 cost>=0.01 tokens<1000' >"$dir/q2"
      printf '%s' '"unterminated' >"$dir/q3" ;;
    rules_file)
      cp tests/fuzz/seeds/alerts.toml "$dir/" ;;
    price_file)
      cp assets/prices.toml "$dir/" ;;
  esac
}

for t in "${targets[@]}"; do
  seed "$t"
  echo "fuzzing $t for ${seconds}s (corpus $corpus_root/$t)"
  cargo +nightly fuzz run --fuzz-dir tests/fuzz -O "$t" "$corpus_root/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 2>&1 |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|ERROR|panicked|SUMMARY|artifact' || true
  # A crash makes cargo fuzz exit non-zero and leaves the input in artifacts/.
  if compgen -G "tests/fuzz/artifacts/$t/*" >/dev/null; then
    echo "fuzz target $t found inputs that fail: tests/fuzz/artifacts/$t/" >&2
    exit 1
  fi
done
echo "fuzzing done: ${targets[*]}, ${seconds}s each, no failing input"
