#!/usr/bin/env bash
# Builds the installers for bench scientists (`make package` runs this):
#   dist/openhcs-gui/                                  PyInstaller one-folder bundle
#   dist/openhcs-gui-<version>-linux-x86_64.tar.gz     the bundle, unpack-and-run
#   dist/openhcs-gui_<version>_amd64.deb               /opt/openhcs-gui + menu entry + icons
# The version comes from the installed package metadata (pyproject.toml [project].version).
# Usage: packaging/build.sh [--no-deb]
#   PYTHON=...  another interpreter: a path or a command name on PATH (CI: PYTHON=python)
# Reproducible: SOURCE_DATE_EPOCH (default: the last commit's time) fixes every timestamp,
# PYTHONHASHSEED=0 fixes set/dict order in the frozen code, the tar is sorted with fixed
# owners and mtimes and gzip -n stores no name/time (packaging/tarball.sh): two builds of
# one commit with the same pinned packages (packaging/constraints.txt) give the same
# tar.gz byte for byte (measured: packaging/README.md "Reproducible builds").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ "$PY" == */* ]] || PY="$(command -v "$PY" || echo "$PY")"  # a command name such as `python`
umask 022
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || stat -c %Y pyproject.toml)"
fi
export SOURCE_DATE_EPOCH PYTHONHASHSEED=0
DIST="$ROOT/dist"
WORK="$ROOT/build/pyinstaller"
APP=openhcs-gui
make_deb=1
DEB=""
[[ "${1:-}" == "--no-deb" ]] && make_deb=0

log() { printf '\033[1mpackage:\033[0m %s\n' "$*"; }
[[ -x "$PY" ]] || { echo "package: $PY not found; run 'make setup' first" >&2; exit 2; }

# 1. The exact versions of packaging/constraints.txt (runtime closure + PyInstaller).
#    A venv that differs (or lacks PyInstaller) gets the pins installed first.
if ! diff_out="$("$PY" packaging/make_constraints.py --check 2>&1)"; then
  log "venv differs from packaging/constraints.txt:"
  printf '  %s\n' "$diff_out" | head -20
  log "installing the pinned versions into $(dirname "$(dirname "$PY")")"
  "$PY" -m pip install -q -r packaging/constraints.txt
fi
VERSION="$("$PY" -c 'from importlib.metadata import version; print(version("openhcs-gui"))')"
ARCH_DEB=amd64
ARCH_TAR="$(uname -m)"
log "openhcs-gui $VERSION, $(uname -s) $ARCH_TAR"

# 2. The bundle.
t0=$SECONDS
rm -rf "$DIST/$APP"
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" \
  packaging/openhcs-gui.spec
BUNDLE="$DIST/$APP"
# Drop debug symbols that some wheels ship (numcodecs alone carries ~30 MB of them).
# Only ours and the wheels' own extension modules: libraries vendored by auditwheel
# (*.libs/) are patchelf-edited and break when rewritten by strip.
if command -v strip >/dev/null && command -v readelf >/dev/null; then
  while IFS= read -r -d '' so; do
    # (no `grep -q`: it would close the pipe early and pipefail would hide the match)
    if readelf -S "$so" 2>/dev/null | grep '\.debug_info' >/dev/null; then strip --strip-debug "$so"; fi
  done < <(find "$BUNDLE" -type f -name '*.so*' -not -path '*.libs/*' -print0)
fi
cp packaging/linux/openhcs-gui.desktop packaging/linux/install-desktop-entry.sh "$BUNDLE/"
chmod +x "$BUNDLE/install-desktop-entry.sh"
build_s=$((SECONDS - t0))
bundle_mb=$(du -sm "$BUNDLE" | cut -f1)
# glibc: the newest symbol version any bundled binary needs = the oldest system it runs on
# (the build machine's glibc; packaging/README.md "Oldest glibc"). OPENHCS_MAX_GLIBC=2.35
# (the CI) turns a newer one into a failed build instead of an installer that will not start.
glibc=$(find "$BUNDLE" -type f \( -name '*.so*' -o -name "$APP" \) -print0 \
  | xargs -0 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)
log "bundle: $BUNDLE ($bundle_mb MB unpacked, built in ${build_s} s, needs glibc >= $glibc)"
if [[ -n "${OPENHCS_MAX_GLIBC:-}" && "$(printf '%s\n' "$glibc" "$OPENHCS_MAX_GLIBC" | sort -V | tail -1)" != "$OPENHCS_MAX_GLIBC" ]]; then
  echo "package: the bundle needs glibc $glibc, newer than OPENHCS_MAX_GLIBC=$OPENHCS_MAX_GLIBC; build on an older system (packaging/README.md)" >&2
  exit 1
fi

# 3. tar.gz: unpack anywhere, run ./openhcs-gui/openhcs-gui.
TAR="$DIST/$APP-$VERSION-linux-$ARCH_TAR.tar.gz"
t1=$SECONDS
bash packaging/tarball.sh "$DIST" "$APP" "$SOURCE_DATE_EPOCH" "$TAR"  # sorted, fixed mtimes/owners, gzip -n
tar_sha=$(sha256sum "$TAR" | cut -d' ' -f1)
tar_s=$((SECONDS - t1))
log "tar.gz: $TAR ($(du -m "$TAR" | cut -f1) MB, ${tar_s} s, sha256 $tar_sha)"

# 4. .deb (dpkg-deb only; no debhelper needed).
if [[ $make_deb == 1 ]]; then
  command -v dpkg-deb >/dev/null || { echo "package: dpkg-deb not found; use --no-deb" >&2; exit 2; }
  STAGE="$ROOT/build/deb/${APP}_${VERSION}_$ARCH_DEB"
  rm -rf "$STAGE"
  mkdir -p "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/doc/$APP" "$STAGE/DEBIAN" "$STAGE/usr/share/icons/hicolor/scalable/apps"
  cp -a "$BUNDLE" "$STAGE/opt/$APP"
  # the package installs the menu entry itself (these two are for the tar.gz)
  rm "$STAGE/opt/$APP/install-desktop-entry.sh" "$STAGE/opt/$APP/openhcs-gui.desktop"
  ln -s "/opt/$APP/$APP" "$STAGE/usr/bin/$APP"
  install -m 644 packaging/linux/openhcs-gui.desktop "$STAGE/usr/share/applications/"
  RES=openhcs_gui/resources
  for s in 16 32 48 64 128 256; do
    install -D -m 644 "$RES/icon-$s.png" "$STAGE/usr/share/icons/hicolor/${s}x${s}/apps/$APP.png"
  done
  install -m 644 "$RES/icon.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/$APP.svg"
  cat > "$STAGE/usr/share/doc/$APP/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: openhcs-gui
Files: *
License: MIT
Comment: /opt/$APP bundles Python, Qt (LGPLv3, PySide6), napari (BSD-3) and
 their dependencies; each package's license is in /opt/$APP/_internal/*.dist-info.
EOF
  installed_kb=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
  cat > "$STAGE/DEBIAN/control" <<EOF
Package: $APP
Version: $VERSION
Architecture: $ARCH_DEB
Maintainer: OpenHCS GUI developers <openhcs-gui@users.noreply.github.com>
Installed-Size: $installed_kb
Depends: libc6 (>= $glibc), libgl1, libegl1, libxcb1, libfontconfig1, libfreetype6, libdbus-1-3, libxkbcommon0
Recommends: libgl1-mesa-dri
Section: science
Priority: optional
Homepage: https://github.com/trissim/openhcs
Description: high-content screening image processing with an embedded napari viewer
 OpenHCS GUI opens microscopy plates (ImageXpress, Opera, OME-Zarr), builds
 image-processing pipelines from a function library, runs them in the
 background and shows every step's output - in memory, on disk or in
 OME-Zarr - in napari. Self-contained: Python, Qt and napari are included
 in /opt/$APP.
EOF
  cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
EOF
  cp "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
  sed -i 's/if \[ "$1" = configure \]/if [ "$1" = remove ] || [ "$1" = purge ]/' "$STAGE/DEBIAN/postrm"
  chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
  DEB="$DIST/${APP}_${VERSION}_$ARCH_DEB.deb"
  t1=$SECONDS
  dpkg-deb --root-owner-group -Zxz -z6 --threads-max="$(nproc)" --build "$STAGE" "$DEB" >/dev/null
  deb_s=$((SECONDS - t1))
  log "deb: $DEB ($(du -m "$DEB" | cut -f1) MB, ${deb_s} s; needs glibc >= $glibc)"
  rm -rf "$STAGE"
fi

deb_json=null
[[ -n "$DEB" ]] && deb_json="{\"file\": \"$(basename "$DEB")\", \"mb\": $(du -m "$DEB" | cut -f1), \"seconds\": $deb_s}"
cat > "$DIST/package-info.json" <<EOF
{"version": "$VERSION", "build_seconds": $build_s, "bundle_mb": $bundle_mb,
 "source_date_epoch": $SOURCE_DATE_EPOCH, "glibc": "$glibc",
 "tar_gz": {"file": "$(basename "$TAR")", "mb": $(du -m "$TAR" | cut -f1), "seconds": $tar_s, "sha256": "$tar_sha"},
 "deb": $deb_json}
EOF
touch "$DIST/.package-built"
log "done in $((SECONDS - t0)) s"
