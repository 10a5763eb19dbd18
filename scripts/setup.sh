#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv. Needs only python3 (3.11).
# Usage: scripts/setup.sh [--dev]     --dev adds the test and benchmark tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.clar-setup
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)-${1:-}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
  # Benchmark reference; its metadata pins soxr<1.0, which clashes with librosa's soxr, so no deps here.
  .venv/bin/python -m pip install -q --no-deps audiomentations==0.43.1
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
.venv/bin/python -m pip install -q --no-deps -e .
echo "$want" > "$stamp"
