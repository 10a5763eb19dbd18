#!/usr/bin/env bash
# Set up .venv and launch CLAR Studio. Until the browser app lands, this opens the command line help.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CLAR_DATA_DIR=${CLAR_DATA_DIR:-$(cd .. && pwd)/shared/data}
exec .venv/bin/python -m core "${@:---help}"
