#!/usr/bin/env bash
# Two replicas of the app and HAProxy in front of them with sticky sessions, on this machine, without Docker
# (HAProxy from Debian: apt-get install -y haproxy):
#   bash deploy/run_local.sh [PROXY_PORT=8080] [FIRST_REPLICA_PORT=8501]
# Open http://127.0.0.1:PROXY_PORT (PROXY_HOST=0.0.0.0 to serve the network). Logs in $LOG_DIR (deploy/logs):
# app1.log, app2.log (each says "replica appN: new session" once per browser session) and haproxy.log.
# Ctrl+C or SIGTERM stops all three; so does any of them stopping.
set -euo pipefail
cd "$(dirname "$0")/.."
PROXY_PORT=${1:-8080}
BASE=${2:-8501}
LOG_DIR=${LOG_DIR:-deploy/logs}
PY=${PYTHON:-.venv/bin/python}
command -v haproxy >/dev/null || { echo "error: haproxy is missing (apt-get install -y haproxy)" >&2; exit 2; }
mkdir -p "$LOG_DIR"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM
for i in 1 2; do
  port=$((BASE + i - 1))
  EXPIRE_SPAN_REPLICA="app$i" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" "$PY" -m streamlit run app/main.py \
    --server.port "$port" --server.address 127.0.0.1 --server.headless true \
    --browser.gatherUsageStats false > "$LOG_DIR/app$i.log" 2>&1 &
  pids+=($!)
done
PROXY_BIND="${PROXY_HOST:-127.0.0.1}:$PROXY_PORT" REPLICA1="127.0.0.1:$BASE" REPLICA2="127.0.0.1:$((BASE + 1))" \
  haproxy -db -f deploy/haproxy.cfg > "$LOG_DIR/haproxy.log" 2>&1 &
pids+=($!)
echo "proxy on http://${PROXY_HOST:-127.0.0.1}:$PROXY_PORT, replicas on 127.0.0.1:$BASE and :$((BASE + 1))"
wait -n "${pids[@]}"
