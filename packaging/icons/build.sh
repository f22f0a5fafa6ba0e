#!/usr/bin/env bash
# Renders the app icon from assets/icons/llm-observatory.svg into every size the
# platforms want: PNGs 16–512 (Linux hicolor theme, window icon), a Windows .ico and a
# macOS .icns. Needs rsvg-convert (Debian: librsvg2-bin) and Pillow (PyPI), both
# installed on demand in a venv; the outputs are committed, so builds do not need them.
set -euo pipefail
cd "$(dirname "$0")/../.."
svg=assets/icons/llm-observatory.svg
out=assets/icons
command -v rsvg-convert >/dev/null || { echo "rsvg-convert missing: apt-get install librsvg2-bin" >&2; exit 1; }
for size in 16 24 32 48 64 128 256 512; do
  rsvg-convert -w "$size" -h "$size" "$svg" -o "$out/llm-observatory-$size.png"
done
venv="${LLM_OBSERVATORY_ICON_VENV:-$HOME/.cache/llm-observatory/icon-venv}"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet Pillow==11.3.0; }
"$venv/bin/python" - "$out" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
big = Image.open(f"{out}/llm-observatory-512.png")
big.save(f"{out}/llm-observatory.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
big.save(f"{out}/llm-observatory.icns")
print("wrote", f"{out}/llm-observatory.ico", f"{out}/llm-observatory.icns")
PY
ls -l "$out"
