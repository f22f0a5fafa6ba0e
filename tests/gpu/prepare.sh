#!/usr/bin/env bash
# Readies the window's frame benchmark for a GPU machine reached through the `device`
# tool, which copies this checkout there but can fetch nothing: puts the release
# binary (stripped and gzipped, to fit the tool's 64 MiB) and the Debian packages the
# window needs beyond a CUDA image (the Vulkan/EGL/GLX loaders, Xvfb, the X client
# libraries winit opens) into .gpu/, which .git/info/exclude keeps out of git. Then, on the device:
#   run(command="bash tests/gpu/bench.sh", carry=[".gpu"], timeout_s=600)
# It prints the frame-time percentiles at 1440x900 and 3840x2160 while 10k spans/s
# stream in (tests/gpu/bench.sh says what it measures).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${CARGO_TARGET_DIR:-$root/target}/release/llm-observatory"
[ -x "$bin" ] || { echo "no release binary at $bin: cargo build --release first" >&2; exit 1; }
grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"
rm -rf "$root/.gpu" && mkdir -p "$root/.gpu/loaders" "$root/.gpu/debs" /tmp/amd64/partial
strip -o "$root/.gpu/llm-observatory" "$bin"
gzip "$root/.gpu/llm-observatory"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update -qq
# The loaders go into / there (as the device tool's README says); the rest is unpacked
# beside it and found through LD_LIBRARY_PATH, so that nothing of the image is replaced.
# No Mesa: its software rasterizer is what the GPU run must not fall back to (and its
# LLVM alone would be 23 MB of the 64).
# shellcheck disable=SC2086
(cd "$root/.gpu/loaders" && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# shellcheck disable=SC2086
(cd "$root/.gpu/debs" && apt-get $o download -qq xvfb xserver-common x11-xkb-utils xkb-data \
  libxfont2 libfontenc1 libxkbfile1 libpixman-1-0 libxcvt0 libunwind8 libaudit1 libcap-ng0 \
  libbsd0 libmd0 \
  libx11-6 libx11-xcb1 libxcb1 libxau6 libxdmcp6 libxext6 libxrender1 libxfixes3 libxi6 \
  libxrandr2 libxcursor1 libxkbcommon0 libxkbcommon-x11-0 libxcb-xkb1 libxshmfence1 \
  libxcb-dri3-0 libxcb-present0 libxcb-sync1 libxcb-randr0 libxcb-xfixes0 libxcb-glx0 \
  libxcb-shm0 libxxf86vm1 libwayland-client0 libwayland-server0 libexpat1 libffi8)
du -sh "$root/.gpu"
[ "$(du -sm "$root/.gpu" | cut -f1)" -lt 64 ] || { echo ".gpu/ is over the device tool's 64 MiB" >&2; exit 1; }
