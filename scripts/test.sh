#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
# The browser test drives Debian's chromium (never a downloaded browser build).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
  else
    echo "note: /usr/bin/chromium is missing (apt-get install -y chromium as root); the browser test will be skipped" >&2
  fi
fi
# The proxy test (tests/e2e/test_proxy.py) runs Debian's HAProxy in front of two replicas.
if ! command -v haproxy >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq haproxy >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq haproxy; } \
      || echo "note: haproxy could not be installed; the proxy test will be skipped" >&2
  else
    echo "note: haproxy is missing (apt-get install -y haproxy as root); the proxy test will be skipped" >&2
  fi
fi
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m pytest -q "$@"
