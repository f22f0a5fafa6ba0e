#!/usr/bin/env bash
# The Linux packages as a user gets them: builds the .deb and the tarball
# (packaging/linux/build.sh), installs the .deb with dpkg, runs the installed binary
# (--version, a short headless serve, opening a database by path in a real window under
# Xvfb, as a file association does), validates the desktop entry, checks that a .duckdb
# file's MIME type opens our desktop entry, removes the package, then unpacks the
# tarball and runs it from there. Needs root (or sudo): .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
need=()
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v xdg-mime >/dev/null || need+=(xdg-utils)
command -v update-mime-database >/dev/null || need+=(shared-mime-info)
command -v Xvfb >/dev/null || need+=(xvfb)
if [ ${#need[@]} -gt 0 ]; then
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${need[@]}" >/dev/null
fi

work="$(mktemp -d)"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  $sudo_ dpkg -r llm-observatory >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash packaging/linux/build.sh "$work/out"
deb="$(ls "$work"/out/*.deb)"
tarball="$(ls "$work"/out/*.tar.gz)"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'

echo "== installing $deb"
$sudo_ dpkg -i "$deb"
installed=/usr/bin/llm-observatory
want="llm-observatory $(grep -m1 '^version' Cargo.toml | cut -d'"' -f2)"
got="$($installed --version)"
[ "$got" = "$want" ] || { echo "--version says '$got', expected '$want'" >&2; exit 1; }
echo "version: $got"

echo "== serve smoke test from the installed binary"
port=$((21000 + RANDOM % 20000))
$installed serve --db "$work/served.duckdb" --grpc off --http "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
acked="$($installed loadgen --endpoint "http://127.0.0.1:$port" --protocol http-protobuf --spans 2000 --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["acknowledged"])')"
kill -INT "$serve_pid"; wait "$serve_pid"; serve_pid=
spans="$($installed stats --db "$work/served.duckdb" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spans"])')"
[ "$acked" -gt 0 ] && [ "$spans" = "$acked" ] \
  || { echo "served database holds $spans spans, $acked acknowledged" >&2; cat "$work/serve.log"; exit 1; }
echo "served and stored $spans spans"

echo "== desktop entry and MIME association"
desktop-file-validate /usr/share/applications/llm-observatory.desktop
[ -f /usr/share/icons/hicolor/256x256/apps/llm-observatory.png ]
[ -f /usr/share/icons/hicolor/scalable/apps/llm-observatory.svg ]
# Debian's triggers refresh these caches at install; run them again in case the
# trigger packages were installed after ours.
$sudo_ update-mime-database /usr/share/mime
$sudo_ update-desktop-database /usr/share/applications
filetype="$(XDG_CURRENT_DESKTOP=X-Generic xdg-mime query filetype "$work/served.duckdb")"
[ "$filetype" = "application/x-duckdb" ] || { echo "a .duckdb file has MIME type '$filetype'" >&2; exit 1; }
handler="$(XDG_CURRENT_DESKTOP=X-Generic xdg-mime query default application/x-duckdb)"
[ "$handler" = "llm-observatory.desktop" ] || { echo "application/x-duckdb opens with '$handler'" >&2; exit 1; }
echo "$filetype opens with $handler"

echo "== opening a database by path, as the file association does"
display=":$((190 + RANDOM % 50))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
DISPLAY="$display" WGPU_BACKEND="${WGPU_BACKEND:-gl}" XDG_DATA_HOME="$work/xdg-data" \
  XDG_CONFIG_HOME="$work/xdg-config" $installed "$work/served.duckdb" --grpc off --http off \
  --screenshot "$work/opened.png" >"$work/window.log" 2>&1 \
  || { cat "$work/window.log"; exit 1; }
grep -q "screenshot saved" "$work/window.log"
[ -s "$work/opened.png" ]
echo "the installed app opened $work/served.duckdb"

echo "== removing the package"
$sudo_ dpkg -r llm-observatory
[ ! -e "$installed" ] || { echo "$installed is still there after removal" >&2; exit 1; }

echo "== the tarball unpacks and runs"
mkdir "$work/unpacked"
tar -C "$work/unpacked" -xzf "$tarball"
unpacked="$(ls -d "$work"/unpacked/llm-observatory-*)"
"$unpacked/bin/llm-observatory" --version
"$unpacked/install.sh" "$work/prefix" >/dev/null
"$work/prefix/bin/llm-observatory" stats --db "$work/served.duckdb" >/dev/null
desktop-file-validate "$work/prefix/share/applications/llm-observatory.desktop"
echo "package checks passed"
