#!/usr/bin/env bash
# Create .venv (once) and install the project's Python packages into it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt "$REQS" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$REQS"
  touch "$stamp"
fi
