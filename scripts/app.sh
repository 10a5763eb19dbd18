#!/usr/bin/env bash
# Set up .venv and serve CLAR Studio in the browser (python -m app; Ctrl-C stops it, training runs keep going).
# Arguments go to python -m app, e.g. scripts/app.sh --port 8502 --data-dir ~/sounds. The command line is
# python -m core (.venv/bin/python -m core --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${CLAR_DATA_DIR:-}" ] && [ -d ../shared/data ]; then export CLAR_DATA_DIR=$(cd ../shared/data && pwd); fi
exec .venv/bin/python -m app "$@"
