#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"
