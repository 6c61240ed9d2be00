#!/usr/bin/env bash
# Build the one-folder desktop bundle, dist/model-inspector/, and prove that it works.
#
#   resources/build_bundle.sh [VENV_DIR]        (default VENV_DIR: /tmp/mi-bundle-venv)
#
# 1. makes a clean virtual environment WITHOUT TensorFlow (python3 -m venv --clear VENV_DIR) and
#    installs the project's core dependencies (pyproject.toml) and PyInstaller into it, from a
#    wheelhouse (MI_WHEELHOUSE, default ~/.cache/model-inspector/bundle-wheels) that the first
#    run fills, so later runs install offline;
# 2. runs PyInstaller on resources/model-inspector.spec into dist/model-inspector/;
# 3. prints the bundle's size and fails if it is over MAX_MB (350);
# 4. runs the built app's self-test offscreen (opens every sample, draws it, runs the ONNX ones,
#    saves /tmp/bundle-self-test.png) and the bundled CLI (`info --json`, and a bad file that must
#    give exit status 2 and one line), and fails if any of them fails.
#
# Environment: PYTHON (interpreter for the venv, default python3), MI_WHEELHOUSE, MAX_MB,
# SCREENSHOT.
# On macOS the same spec also writes dist/Model Inspector.app; on Windows run the equivalent
# steps from Git Bash (the venv's executables are then under Scripts/, not bin/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-/tmp/mi-bundle-venv}"
PYTHON="${PYTHON:-python3}"
MAX_MB="${MAX_MB:-350}"
SCREENSHOT="${SCREENSHOT:-/tmp/bundle-self-test.png}"
DIST="$ROOT/dist"
APP_DIR="$DIST/model-inspector"
WORK="$VENV/pyinstaller-work"
WHEELS="${MI_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/model-inspector/bundle-wheels}"
START=$SECONDS

step() { printf '\n== %s (%d s)\n' "$*" $((SECONDS - START)); }
fail() { printf 'build_bundle: %s\n' "$*" >&2; exit 1; }

step "clean virtual environment in $VENV"
"$PYTHON" -m venv --clear "$VENV"
VPY="$VENV/bin/python"
[ -x "$VPY" ] || VPY="$VENV/Scripts/python.exe"
# The core dependencies straight from pyproject.toml, so this list never drifts from it.
# (A read loop, not mapfile: macOS still ships bash 3.2.)
DEPS=()
while IFS= read -r dep; do DEPS+=("$dep"); done < <("$VPY" - "$ROOT/pyproject.toml" <<'EOF'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["bundle"]))
EOF
)
# Wheels are kept in a wheelhouse and installed from it offline. pip's own HTTP cache would do,
# but only when the index sends caching headers: behind a proxy that strips them (as on the
# machine this was written on) pip re-downloads about 250 MB every time. Delete the folder to
# pick up newer releases; a dependency the wheelhouse cannot satisfy is downloaded into it.
unset PIP_NO_CACHE_DIR
PIP=("$VPY" -m pip --disable-pip-version-check)
if ! "${PIP[@]}" install --quiet --no-index --find-links "$WHEELS" "${DEPS[@]}" 2>/dev/null; then
    echo "filling the wheelhouse $WHEELS"
    "${PIP[@]}" download --quiet --prefer-binary --dest "$WHEELS" "${DEPS[@]}"
    "${PIP[@]}" install --quiet --no-index --find-links "$WHEELS" "${DEPS[@]}"
fi
if "$VPY" -c "import tensorflow" 2>/dev/null; then
    fail "TensorFlow is importable in $VENV; the bundle must be built without it"
fi
"$VPY" -m pip list --format=freeze 2>/dev/null \
    | grep -iE '^(pyinstaller|pyside6|onnx|onnxruntime|pyqtgraph|numpy|h5py)=' || true

step "PyInstaller"
"$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$ROOT/resources/model-inspector.spec"
EXE="$APP_DIR/model-inspector"
[ -x "$EXE" ] || EXE="$APP_DIR/model-inspector.exe"
[ -x "$EXE" ] || fail "no executable in $APP_DIR"

SIZE_MB=$(du -sm "$APP_DIR" | cut -f1)
echo "bundle: $APP_DIR, ${SIZE_MB} MB (limit ${MAX_MB} MB)"
[ "$SIZE_MB" -le "$MAX_MB" ] || fail "bundle is ${SIZE_MB} MB, over the ${MAX_MB} MB limit"

step "self-test of the built app (offscreen)"
rm -f "$SCREENSHOT"
# Run from / with no sample override so only the samples inside the bundle can be found.
# A hung app must not hang CI; macOS has no `timeout` unless coreutils is installed.
LIMIT=()
if command -v timeout >/dev/null; then LIMIT=(timeout 600); fi
(cd / && env -u MODEL_INSPECTOR_SAMPLES QT_QPA_PLATFORM=offscreen \
    ${LIMIT[@]+"${LIMIT[@]}"} "$EXE" --self-test --screenshot "$SCREENSHOT") \
    || fail "the bundle's self-test failed"
[ -s "$SCREENSHOT" ] || fail "the self-test wrote no screenshot"

step "bundled command line"
SAMPLE="$(find "$APP_DIR" -path '*/samples/digits_cnn.onnx' | head -n 1)"
[ -n "$SAMPLE" ] || fail "samples/digits_cnn.onnx is not in the bundle"
(cd / && "$EXE" info "$SAMPLE" --json) > "$VENV/info.json" || fail "'info --json' failed"
"$VPY" - "$VENV/info.json" "$SAMPLE" <<'EOF' || fail "'info --json' disagrees with onnx"
import json, sys
import onnx
facts = json.load(open(sys.argv[1]))
proto = onnx.load(sys.argv[2])
assert facts["format"] == "onnx", facts["format"]
assert facts["nodes"] == len(proto.graph.node), (facts["nodes"], len(proto.graph.node))
print(f"info --json: format {facts['format']}, {facts['nodes']} nodes, "
      f"{facts['parameters']} parameters (onnx counts {len(proto.graph.node)} nodes)")
EOF
BAD="$VENV/not-a-model.onnx"
printf 'this is not a protobuf' > "$BAD"
set +e
ERR="$(cd / && "$EXE" info "$BAD" 2>&1 >/dev/null)"
CODE=$?
set -e
[ "$CODE" -eq 2 ] || fail "a bad file gave exit status $CODE, not 2: $ERR"
[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || fail "a bad file gave more than one line: $ERR"
echo "bad file: exit 2, '$ERR'"

step "done: $APP_DIR (${SIZE_MB} MB), screenshot $SCREENSHOT"
