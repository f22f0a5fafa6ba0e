#!/usr/bin/env bash
# Builds the Linux packages offline: a .deb (cargo-deb) and a .tar.gz with the binary,
# desktop entry, MIME type, icons and install.sh, into packaging/linux/out/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-packaging/linux/out}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
target="${CARGO_TARGET_DIR:-target}"
version="$(cargo metadata --no-deps --format-version 1 \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="llm-observatory"))')"
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"

# The same build as the tests' (all targets), so that packaging after testing rebuilds
# nothing: cargo unifies dependency features per build, and a narrower build would
# recompile the GUI stack with other features.
cargo build --release --locked --workspace --all-targets
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo deb --no-build --locked -p llm-observatory --output "$out/llm-observatory_${version}_${arch}.deb"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/llm-observatory-$version"
install -Dm755 "$target/release/llm-observatory" "$root/bin/llm-observatory"
install -Dm644 packaging/linux/llm-observatory.desktop "$root/share/applications/llm-observatory.desktop"
install -Dm644 packaging/linux/llm-observatory-mime.xml "$root/share/mime/packages/llm-observatory.xml"
install -Dm644 assets/icons/llm-observatory.svg "$root/share/icons/hicolor/scalable/apps/llm-observatory.svg"
for size in 16 24 32 48 64 128 256 512; do
  install -Dm644 "assets/icons/llm-observatory-$size.png" \
    "$root/share/icons/hicolor/${size}x${size}/apps/llm-observatory.png"
done
install -Dm755 packaging/linux/install.sh "$root/install.sh"
install -Dm644 README.md "$root/README.md"
install -Dm644 LICENSE "$root/LICENSE"
tar -C "$stage" -czf "$out/llm-observatory-$version-linux-$(uname -m).tar.gz" "llm-observatory-$version"
ls -l "$out"
