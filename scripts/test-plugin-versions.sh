#!/usr/bin/env bash
# The LiveKit plugin's tests (clients/livekit-plugin/tests) at the oldest livekit-agents the plugin
# declares (its floor, read from its pyproject.toml) and at the newest release on PyPI, each in a
# small venv of its own that holds only the plugin (installed as a built package, not the source)
# and what it declares. The venvs are cached under ~/.cache/visavis/plugin-venvs, keyed by
# livekit-agents version and the plugin's declared dependencies; a cached run takes seconds.
#   VISAVIS_PLUGIN_VERSIONS="1.5.13 1.8.9"  test these versions instead
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
PLUGIN=clients/livekit-plugin
CACHE=${VISAVIS_PLUGIN_VENVS:-$HOME/.cache/visavis/plugin-venvs}
TEST_DEPS=("pytest>=8" "pytest-asyncio>=0.23" "pytest-timeout>=2.3" "setuptools>=68")

floor=$(sed -n 's/.*"livekit-agents>=\([0-9][0-9.]*\)".*/\1/p' "$PLUGIN/pyproject.toml")
[ -n "$floor" ] || { echo "plugin-versions: no livekit-agents>=X in $PLUGIN/pyproject.toml" >&2; exit 2; }
key=$( { sed -n '/^dependencies/p;/^requires-python/p' "$PLUGIN/pyproject.toml"; echo "${TEST_DEPS[*]}"; "$PY" -V; } \
  | sha256sum | cut -c1-10)

if [ -n "${VISAVIS_PLUGIN_VERSIONS:-}" ]; then
  read -r -a versions <<< "$VISAVIS_PLUGIN_VERSIONS"
else
  newest=$("$PY" -m pip index versions livekit-agents 2>/dev/null | sed -n 's/^livekit-agents (\(.*\))$/\1/p' || true)
  if [ -z "$newest" ]; then  # PyPI unreachable: the newest release tested before
    newest=$(find "$CACHE" -maxdepth 1 -name "livekit-agents-*-$key" -printf '%f\n' 2>/dev/null \
      | sed "s/^livekit-agents-\(.*\)-$key$/\1/" | sort -V | tail -1)
    [ -n "$newest" ] || { echo "plugin-versions: cannot ask PyPI for the newest livekit-agents" >&2; exit 2; }
    echo "plugin-versions: warning: PyPI did not answer; testing the newest cached release, $newest"
  fi
  versions=("$floor")
  [ "$newest" = "$floor" ] || versions+=("$newest")
fi

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -r "$PLUGIN/pyproject.toml" "$PLUGIN/README.md" "$PLUGIN/livekit" "$src/"  # builds leave the tree clean

keep=()
for version in "${versions[@]}"; do
  venv="$CACHE/livekit-agents-$version-$key"
  keep+=("$venv")
  if [ ! -f "$venv/.complete" ]; then
    echo "plugin-versions: building a venv with livekit-agents==$version (once)"
    rm -rf "$venv" && mkdir -p "$CACHE" && "$PY" -m venv "$venv"
    # the plugin's own declared dependencies, resolved with livekit-agents pinned to this version
    "$venv/bin/python" -m pip install --quiet "livekit-agents==$version" "$src" "${TEST_DEPS[@]}" 2>&1 \
      | { grep -v "is ignored" || true; }
    touch "$venv/.complete"
  fi
  "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall "$src" 2>&1 \
    | { grep -v "is ignored" || true; }
  echo "plugin-versions: livekit-agents $version ($("$venv/bin/python" -c \
    'import livekit.plugins.visavis as v, os; print(os.path.dirname(v.__file__))'))"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$PLUGIN/tests"
done

for old in "$CACHE"/livekit-agents-*; do  # venvs of versions or dependencies no longer tested
  [ -z "${VISAVIS_PLUGIN_VERSIONS:-}" ] && [ -d "$old" ] || continue
  [[ " ${keep[*]} " == *" $old "* ]] || rm -rf "$old"
done
echo "plugin-versions: livekit-agents ${versions[*]} passed in $(( $(date +%s) - start )) s"
