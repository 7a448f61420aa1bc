#!/usr/bin/env bash
# `make package-test`: run the *built artifacts* like a user would, not the source tree.
#   1. unpack the tar.gz into a temp dir and run `openhcs-gui --smoke-test` under Xvfb
#      with a clean environment (env -i: PATH=/usr/bin:/bin, HOME=<tmp>, no venv);
#   2. `dpkg -x` the .deb into a scratch root and run <root>/opt/openhcs-gui/openhcs-gui
#      the same way, after checking the package's menu entry, icons and symlink;
#   3. check each run's report and screenshot with packaging/check_smoke.py;
#   0. (first) re-archive a copy of the bundle: the same tar.gz bytes (packaging/tarball.sh).
# `make package-test` then runs packaging/test_wheel.sh (the wheel in a fresh venv + napari).
# Evidence (reports, screenshots) is copied to dist/package-test/{tar,deb}/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
APP=openhcs-gui
VERSION="$("$PY" -c 'from importlib.metadata import version; print(version("openhcs-gui"))')"
TAR="dist/$APP-$VERSION-linux-$(uname -m).tar.gz"
DEB="dist/${APP}_${VERSION}_amd64.deb"
EVIDENCE="$ROOT/dist/package-test"
for f in "$TAR" "$DEB"; do
  [[ -f "$f" ]] || { echo "package-test: $f missing (run make package)" >&2; exit 2; }
done
command -v xvfb-run >/dev/null || { echo "package-test: xvfb-run not found (scripts/system_deps.sh --test)" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/openhcs-package-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
rm -rf "$EVIDENCE" && mkdir -p "$EVIDENCE"
log() { printf '\033[1mpackage-test:\033[0m %s\n' "$*"; }

# Run one installed executable from an empty working dir with nothing of ours around it.
smoke() {
  local label=$1 exe=$2 out="$TMP/out-$1" home="$TMP/home-$1" work="$TMP/work-$1"
  mkdir -p "$home" "$work"
  log "$label: $exe --smoke-test (Xvfb, env -i, HOME=$home)"
  local t0=$SECONDS rc=0
  (cd "$work" && env -i PATH=/usr/bin:/bin HOME="$home" \
     xvfb-run -a -s "-screen 0 1920x1080x24" "$exe" --smoke-test "$out") || rc=$?
  local wall=$((SECONDS - t0))
  mkdir -p "$EVIDENCE/$label"
  cp "$out"/smoke_report.json "$out"/*.png "$EVIDENCE/$label/" 2>/dev/null || true
  echo "{\"label\": \"$label\", \"exit_code\": $rc, \"wall_seconds\": $wall}" > "$EVIDENCE/$label/wall.json"
  log "$label: exit code $rc, wall time ${wall} s; evidence in $EVIDENCE/$label"
  [[ $rc -eq 0 ]] || { cat "$out/smoke_report.json" >&2 2>/dev/null || true; return 1; }
  "$PY" packaging/check_smoke.py "$EVIDENCE/$label" --label "$label"
}

# 0. the tar step is deterministic: a copy of the bundle (fresh mtimes, another directory
#    order) archived with the build's SOURCE_DATE_EPOCH gives the build's tar.gz byte for
#    byte. (Two whole builds, PyInstaller included, were compared by hand: README.)
t0=$SECONDS
epoch="$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["source_date_epoch"])' dist/package-info.json)"
mkdir -p "$TMP/retar"
cp -r "dist/$APP" "$TMP/retar/$APP"
bash packaging/tarball.sh "$TMP/retar" "$APP" "$epoch" "$TMP/retar.tar.gz"
built_sha=$(sha256sum "$TAR" | cut -d' ' -f1)
retar_sha=$(sha256sum "$TMP/retar.tar.gz" | cut -d' ' -f1)
rm -rf "$TMP/retar" "$TMP/retar.tar.gz"
[[ "$built_sha" == "$retar_sha" ]] || {
  echo "package-test: re-archiving a copy of dist/$APP gave sha256 $retar_sha, the build's tar.gz is $built_sha: the tar step is not reproducible" >&2
  exit 1; }
log "tar.gz reproducible: a re-archived copy of the bundle has the same sha256 $built_sha ($((SECONDS - t0)) s)"

# 1. tar.gz
mkdir -p "$TMP/tar"
tar -C "$TMP/tar" -xzf "$TAR"
smoke tar "$TMP/tar/$APP/$APP"

# 2. .deb: contents, then the same smoke test from the scratch root
ROOTFS="$TMP/debroot"
dpkg-deb --info "$DEB" >/dev/null
dpkg -x "$DEB" "$ROOTFS"
[[ "$(readlink "$ROOTFS/usr/bin/$APP")" == "/opt/$APP/$APP" ]] \
  || { echo "package-test: /usr/bin/$APP is not a link to /opt/$APP/$APP" >&2; exit 1; }
for f in usr/share/applications/$APP.desktop usr/share/icons/hicolor/scalable/apps/$APP.svg \
         usr/share/icons/hicolor/{16x16,32x32,48x48,64x64,128x128,256x256}/apps/$APP.png; do
  [[ -s "$ROOTFS/$f" ]] || { echo "package-test: .deb lacks /$f" >&2; exit 1; }
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$ROOTFS/usr/share/applications/$APP.desktop"
fi
smoke deb "$ROOTFS/opt/$APP/$APP"
log "passed: tar.gz and .deb both open the window, run the demo pipeline and show its zarr output"
