#!/usr/bin/env bash
# Reproduce the shipped text model (checkpoints/text) and its baseline (checkpoints/text-txl) from the corpus.
#   nohup bash scripts/train_text.sh > runs/text.log 2>&1 &      # add DEVICE=cuda on a GPU
# Each training resumes where it stopped, so the script can be started again after an interruption. Steps:
# the corpus and the copy corpora (docs/method.md 16.4, 16.7), the previous text model's chain (text, text-gentle,
# text-gentle-a8e5), then the model and its baseline side by side (one thread each on a CPU), shipped with
# their cards and measured (checkpoints/results.json, checkpoints/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
DEVICE="${DEVICE:-auto}"
CPU_NAME="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
MACHINE="${MACHINE:-$CPU_NAME, torch $($PY -c 'import torch; print(torch.__version__)')}"
mkdir -p runs
[ -f data/corpus/train.txt ] || $PY -m model.data build-corpus
[ -f data/corpus-copy/train.txt ] || $PY -m model.data build-copy-corpus
[ -f data/corpus-copy-varied/train.txt ] ||
  $PY -m model.data build-copy-corpus --names varied --out data/corpus-copy-varied
for name in text text-gentle text-gentle-a8e5; do
  $PY -m model.train --config "configs/$name.toml" --device "$DEVICE"
done
for pair in "text-copy text-copy-txl" "text-copy-cool text-copy-txl-cool" "text-far text-far-txl" \
            "text-reach text-reach-txl" "text-varied text-varied-txl" "text-varied-cool text-varied-txl-cool"; do
  set -- $pair  # the model's config, its baseline's
  OMP_NUM_THREADS=1 $PY -m model.train --config "configs/$1.toml" --device "$DEVICE" >> "runs/$1.log" 2>&1 &
  OMP_NUM_THREADS=1 $PY -m model.train --config "configs/$2.toml" --device "$DEVICE" >> "runs/$2.log" 2>&1
  wait
done
$PY -m model.card --run runs/text-varied-cool --name text --baseline text-txl --trained-on "$MACHINE" \
  --started-from "configs/text-varied.toml's final weights (from configs/text-reach.toml's)"
$PY -m model.evaluate --task text --checkpoint checkpoints/text --policies
# equal memory: the baseline keeps as many memories as the model kept on average on the test split
$PY - <<'PYEOF'
import json
kept = round(json.load(open("checkpoints/results.json"))["text"]["expire_span"]["kept"])
path = "runs/text-varied-txl-cool/final/config.json"
config = json.load(open(path))
config["max_span"] = kept
open(path, "w").write(json.dumps(config, indent=2) + "\n")
print(f"the baseline keeps L = {kept}")
PYEOF
$PY -m model.card --run runs/text-varied-txl-cool --name text-txl --partner text --trained-on "$MACHINE" \
  --started-from "configs/text-varied-txl.toml's final weights (from configs/text-reach-txl.toml's)"
$PY -m model.evaluate --task text --checkpoint checkpoints/text --baseline checkpoints/text-txl --baseline-only \
  --policies
$PY -m model.evaluate --task text --checkpoint checkpoints/text --baseline checkpoints/text-txl --memory-use-only
$PY -m model.card --name text --results-only
$PY -m model.card --name text-txl --partner text --results-only
