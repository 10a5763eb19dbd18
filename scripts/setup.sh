#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv. Needs only python3 (3.11).
# Usage: scripts/setup.sh [--dev]     --dev adds the test and benchmark tools.
set -euo pipefail
cd "$(dirname "$0")/.."
# pip here may be configured with local wheel folders; hide its "Location ... is ignored" chatter.
pip_install() { .venv/bin/python -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.clar-setup
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)-${1:-}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
pip_install --upgrade pip >/dev/null
if [ "${1:-}" = "--dev" ]; then
  pip_install -r requirements-dev.txt
  # Benchmark reference; its metadata pins soxr<1.0, which clashes with librosa's soxr, so no deps here.
  pip_install --no-deps audiomentations==0.43.1
else
  pip_install -r requirements.txt
fi
pip_install --no-deps -e .
echo "$want" > "$stamp"
