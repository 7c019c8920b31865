#!/usr/bin/env bash
# Train checkpoints one after another in the background; each resumes where it stopped.
#   nohup bash scripts/train_queue.sh text collision > runs/queue.log 2>&1 &
# THREADS=1 runs each training on one core (two queues side by side on a 2-core machine).
cd "$(dirname "$0")/.."
mkdir -p runs
[ -n "${THREADS:-}" ] && export OMP_NUM_THREADS="$THREADS"
for name in "$@"; do
  .venv/bin/python -m model.train --config "configs/$name.toml" >> "runs/$name.log" 2>&1
done
