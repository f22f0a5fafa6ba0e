#!/usr/bin/env bash
# The window's frame benchmark on a GPU machine (the `device` tool's), after
# tests/gpu/prepare.sh here: unpacks what .gpu/ carries, builds a 10M-span demo
# database (TRACES=2130000; smaller for a quick look), and runs tests/bench_frames.sh
# at 1440x900 and 3840x2160 while RATE=10000 spans/s stream in, once per wgpu backend
# in BACKENDS (default "vulkan gl"), each report naming the adapter that drew it (a
# figure from llvmpipe is a software fallback, not the GPU's). Figures go to stdout and
# to $OUT/frames.txt. Written without a device to try it on: each step says which
# failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp}"
report="$out/frames.txt"
say() { echo "$*" | tee -a "$report"; }
[ -d .gpu ] || { echo "no .gpu/: run tests/gpu/prepare.sh here, and carry .gpu" >&2; exit 1; }

for f in .gpu/loaders/*.deb; do dpkg -x "$f" /; done
ldconfig
extra=/tmp/gpu-root
for f in .gpu/debs/*.deb; do dpkg -x "$f" "$extra"; done
export LD_LIBRARY_PATH="$extra/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$extra/usr/bin:$PATH"
# Xvfb runs its keymap compiler and reads the keymaps at fixed places.
[ -e /usr/bin/xkbcomp ] || ln -s "$extra/usr/bin/xkbcomp" /usr/bin/xkbcomp
[ -e /usr/share/X11/xkb ] || { mkdir -p /usr/share/X11 && ln -s "$extra/usr/share/X11/xkb" /usr/share/X11/xkb; }
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  [ -e "$icd" ] && export VK_DRIVER_FILES="$icd" && break
done
for egl in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -e "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl" && break
done
export __GLX_VENDOR_LIBRARY_NAME=nvidia

mkdir -p /tmp/gpu-bin
gunzip -c .gpu/llm-observatory.gz >/tmp/gpu-bin/llm-observatory
chmod +x /tmp/gpu-bin/llm-observatory
export CARGO_TARGET_DIR=/tmp/gpu-target
mkdir -p "$CARGO_TARGET_DIR/release"
ln -sf /tmp/gpu-bin/llm-observatory "$CARGO_TARGET_DIR/release/llm-observatory"
command -v Xvfb >/dev/null || { say "Xvfb did not unpack"; exit 1; }

say "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
db=/tmp/gpu-big.duckdb
started=$(date +%s)
if ! /tmp/gpu-bin/llm-observatory demo --db "$db" --traces "${TRACES:-2130000}" >/tmp/gpu-demo.log 2>&1; then
  say "building the demo database failed:"; tail -5 /tmp/gpu-demo.log | tee -a "$report"; exit 1
fi
say "demo database ($(du -h "$db" | cut -f1)) built in $(( $(date +%s) - started )) s"

for backend in ${BACKENDS:-vulkan gl}; do
  for size in 1440x900 3840x2160; do
    say "== WGPU_BACKEND=$backend WINDOW=$size RATE=${RATE:-10000}"
    WGPU_BACKEND="$backend" WINDOW="$size" timeout 120 \
      bash tests/bench_frames.sh "$db" "${RATE:-10000}" "${FRAMES:-600}" 2>&1 | tee -a "$report"
    [ "${PIPESTATUS[0]}" -eq 0 ] || say "(that run failed or timed out)"
  done
done
