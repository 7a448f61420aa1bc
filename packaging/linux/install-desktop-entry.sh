#!/usr/bin/env bash
# Adds OpenHCS GUI to your application menu without root rights (tar.gz installs).
# Run it from the unpacked folder:   ./install-desktop-entry.sh
# Undo with:                         ./install-desktop-entry.sh --remove
# The .deb package does this system-wide instead; you only need this for the tar.gz.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
desktop="$data/applications/openhcs-gui.desktop"
icons="$data/icons/hicolor"
sizes=(16 32 48 64 128 256)

if [[ "${1:-}" == "--remove" ]]; then
  rm -f "$desktop" "$icons/scalable/apps/openhcs-gui.svg"
  for s in "${sizes[@]}"; do rm -f "$icons/${s}x${s}/apps/openhcs-gui.png"; done
  echo "OpenHCS GUI removed from the application menu."
  exit 0
fi

res="$here/_internal/openhcs_gui/resources"
[[ -x "$here/openhcs-gui" && -d "$res" ]] || { echo "Run this script from the unpacked openhcs-gui folder." >&2; exit 1; }
mkdir -p "$data/applications" "$icons/scalable/apps"
for s in "${sizes[@]}"; do
  mkdir -p "$icons/${s}x${s}/apps"
  cp "$res/icon-$s.png" "$icons/${s}x${s}/apps/openhcs-gui.png"
done
cp "$res/icon.svg" "$icons/scalable/apps/openhcs-gui.svg"
# The menu entry points at this folder; quote the path for the Exec key (spec: double quotes).
sed -e "s|^Exec=.*|Exec=\"$here/openhcs-gui\" %f|" -e "s|^TryExec=.*|TryExec=$here/openhcs-gui|" \
  "$here/openhcs-gui.desktop" > "$desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$icons" || true
echo "OpenHCS GUI added to the application menu (entry: $desktop)."
