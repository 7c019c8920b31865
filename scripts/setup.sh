#!/usr/bin/env bash
# Create .venv (once), install the project's Python packages into it, and install the project itself in
# editable mode (pyproject.toml: `import model`, `import app` from anywhere). Idempotent; offline wherever the
# pinned packages are on local disk (the build backend, setuptools, is pinned in requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
REQS="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt "$REQS" pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r "$REQS"
  .venv/bin/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
  touch "$stamp"
fi
