#!/usr/bin/env bash
# Set up (first run only) and start the app on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
# Hub repo ids load from the local Hugging Face cache (set HF_HUB_OFFLINE=0 to allow downloads)
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
exec .venv/bin/streamlit run app/main.py --server.headless true "$@"
