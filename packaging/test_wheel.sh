#!/usr/bin/env bash
# `make wheel-test` (also part of `make package-test`): what `pip install openhcs-gui` gives a
# napari user, checked from the *built wheel* in a fresh venv, never from the source tree.
#   1. build our wheel and the example function plugin's wheel (tests/napari_plugin/example_plugin)
#      from copies, so the checkout gets no build/ or egg-info;
#   2. make a new venv in a temp dir and install only those two wheels; their dependencies
#      come from the index at the versions of packaging/constraints.txt (pip's cache is reused);
#   3. under Xvfb with a clean environment, packaging/check_wheel.py opens a plate and a
#      workspace in napari through our reader, docks our widget, finds the plugin's
#      functions in its function list and runs them in a pipeline.
# Evidence (wheel_report.json, napari.png, timings.json) goes to dist/package-test/wheel/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ "$PY" == */* ]] || PY="$(command -v "$PY" || echo "$PY")"
EVIDENCE="$ROOT/dist/package-test/wheel"
command -v xvfb-run >/dev/null || { echo "wheel-test: xvfb-run not found (scripts/system_deps.sh --test)" >&2; exit 2; }
[[ -x "$PY" ]] || { echo "wheel-test: $PY not found; run 'make setup' first" >&2; exit 2; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/openhcs-wheel-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
rm -rf "$EVIDENCE" && mkdir -p "$EVIDENCE"
log() { printf '\033[1mwheel-test:\033[0m %s\n' "$*"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1

# 1. wheels, from copies of exactly what goes into them
t0=$SECONDS
mkdir -p "$TMP/src" "$TMP/wheels"
cp -r pyproject.toml README.md LICENSE openhcs_gui "$TMP/src/"
find "$TMP/src" -name __pycache__ -prune -exec rm -rf {} +
cp -r tests/napari_plugin/example_plugin "$TMP/plugin"
"$PY" -m pip wheel -q --no-deps -w "$TMP/wheels" "$TMP/src" "$TMP/plugin"
wheel_s=$((SECONDS - t0))
log "built $(cd "$TMP/wheels" && echo *.whl) in ${wheel_s} s"

# 2. a fresh venv with only the wheels (+ their dependencies at the pinned versions)
t1=$SECONDS
"$PY" -m venv "$TMP/venv"
VPY="$TMP/venv/bin/python"
"$VPY" -m pip install -q -c packaging/constraints.txt "$TMP"/wheels/*.whl
"$VPY" -m pip check
install_s=$((SECONDS - t1))
log "fresh venv: $("$VPY" -m pip list --format=freeze | wc -l) packages installed in ${install_s} s"

# 3. napari under Xvfb, from an empty directory with nothing of ours on sys.path
mkdir -p "$TMP/work" "$TMP/home"
cp packaging/check_wheel.py "$TMP/check_wheel.py"
t2=$SECONDS
rc=0
(cd "$TMP/work" && env -i PATH=/usr/bin:/bin HOME="$TMP/home" \
   xvfb-run -a -s "-screen 0 1920x1080x24" "$VPY" "$TMP/check_wheel.py" "$TMP/out") || rc=$?
check_s=$((SECONDS - t2))
cp "$TMP"/out/wheel_report.json "$TMP"/out/napari.png "$EVIDENCE/" 2>/dev/null || true
echo "{\"exit_code\": $rc, \"wheel_seconds\": $wheel_s, \"install_seconds\": $install_s, \"check_seconds\": $check_s}" \
  > "$EVIDENCE/timings.json"
log "napari check: exit code $rc in ${check_s} s; evidence in $EVIDENCE"
[[ $rc -eq 0 ]] || exit 1
log "passed: the wheel alone gives napari our reader, dock and the plugin's functions (total $((SECONDS - t0)) s)"
