#!/usr/bin/env sh
# Installs LLM Observatory from this unpacked tarball, for systems without .deb
# packages: the binary, the desktop entry, the icons and the DuckDB MIME type, so that
# the app is in the menu and double-clicking a .duckdb file opens it.
#   ./install.sh            into ~/.local (no root needed)
#   sudo ./install.sh /usr/local
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${1:-$HOME/.local}"
install -Dm755 "$here/bin/llm-observatory" "$prefix/bin/llm-observatory"
install -Dm644 "$here/share/applications/llm-observatory.desktop" \
  "$prefix/share/applications/llm-observatory.desktop"
install -Dm644 "$here/share/mime/packages/llm-observatory.xml" \
  "$prefix/share/mime/packages/llm-observatory.xml"
(cd "$here/share/icons" && find . -type f) | while read -r f; do
  install -Dm644 "$here/share/icons/$f" "$prefix/share/icons/$f"
done
command -v update-mime-database >/dev/null && update-mime-database "$prefix/share/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$prefix/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$prefix/share/icons/hicolor" || true
echo "installed llm-observatory into $prefix (run $prefix/bin/llm-observatory --demo)"
