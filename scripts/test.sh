#!/usr/bin/env bash
# Set up .venv with the dev tools and run the whole CPU test suite (GPU tests are deselected), browser tests too.
# Extra arguments go to pytest. CLAR_DATA_DIR defaults to ../shared/data beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
# The browser tests drive the served app in Debian's chromium (never `playwright install`).
if [ -z "${CLAR_CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests (apt-get)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
export CLAR_DATA_DIR=${CLAR_DATA_DIR:-$(cd .. && pwd)/shared/data}
export CLAR_CACHE_DIR=${CLAR_CACHE_DIR:-$PWD/.venv/cache}
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache | tail -n 4  # the layers of core/ import downward only, no cycles (pyproject.toml)
exec .venv/bin/python -m pytest -m "not gpu" -q "$@"
