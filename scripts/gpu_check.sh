#!/usr/bin/env bash
# The GPU checks of the speed work in one run (about 5 minutes on an NVIDIA H200): the CUDA path matches the CPU
# (tests/model/test_cuda.py), then Expire-Span against the same-L Transformer-XL and the trained baseline at 4,096 and
# 65,536 bytes (bench/growth.py; targets: Expire-Span no slower than the same-L Transformer-XL at 64k, 4,096
# bytes <= 0.1 s). Needs torch with CUDA, numpy, safetensors and pytest installed (it installs nothing).
#   bash scripts/gpu_check.sh [OUT_DIR]      # JSON and logs go to OUT_DIR (default bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-bench/results}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.__version__, torch.cuda.get_device_name())"
"$PY" -m pytest -q tests/model/test_cuda.py 2>&1 | tee "$OUT/test_cuda.log"
"$PY" -m bench.growth --device cuda --sizes 4096,65536 --repeats 3 --baseline checkpoints/text-txl \
  --json "$OUT/growth-cuda.json" 2>&1 | tee "$OUT/growth-cuda.log"
