#!/usr/bin/env bash
# Installs the Debian packages Qt/napari need on a virtual or real X display.
# Idempotent and quick: asks dpkg first, runs apt only for what is missing.
# Usage: scripts/system_deps.sh            (runtime libs)
#        scripts/system_deps.sh --test     (runtime libs + Xvfb for GUI tests)
set -euo pipefail
pkgs=(libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
      libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
      libgl1 libegl1 libgl1-mesa-dri libfontconfig1 libdbus-1-3 libglib2.0-0)
if [[ "${1:-}" == "--test" ]]; then pkgs+=(xvfb xauth); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "openhcs-gui: please install these system packages with your package manager: ${missing[*]}" >&2
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "openhcs-gui: missing system packages (${missing[*]}); run: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "openhcs-gui: installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
