#!/usr/bin/env bash
# Set up (first run only) and start the app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/streamlit run app/main.py --server.headless true "$@"
