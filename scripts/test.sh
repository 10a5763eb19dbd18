#!/usr/bin/env bash
# Set up .venv with the dev tools and run the whole CPU test suite (GPU tests are deselected).
# Extra arguments go to pytest. CLAR_DATA_DIR defaults to ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
export CLAR_DATA_DIR=${CLAR_DATA_DIR:-$(cd .. && pwd)/shared/data}
export CLAR_CACHE_DIR=${CLAR_CACHE_DIR:-$PWD/.venv/cache}
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache | tail -n 4  # the layers of core/ import downward only, no cycles (pyproject.toml)
exec .venv/bin/python -m pytest -m "not gpu" -q "$@"
