"""The CUDA path: the same weights give the same trace and the same first training steps on a GPU as on
the CPU. Skipped where no GPU is present (CI); run on a GPU machine with `pytest tests/model/test_cuda.py`."""
import json

import numpy as np
import pytest
import torch

from support import tiny_model
from model.trace import trace
from test_train import run_train, write_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_trace_on_cuda_matches_the_cpu():
    """Spans (method 2.1), soft mask and drops (3, 7) and the loss agree across devices for the same weights."""
    text = ("The coast was clear at dawn, and the ships sailed for Egypt. " * 30).encode()
    model = tiny_model(seed=3)
    on_cpu = trace(model, text)
    on_gpu = trace(model.to("cuda"), text)
    assert on_gpu.spans.shape == on_cpu.spans.shape
    np.testing.assert_allclose(on_gpu.spans, on_cpu.spans, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(on_gpu.bits, on_cpu.bits, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(on_gpu.cache_size, on_cpu.cache_size)
    np.testing.assert_array_equal(on_gpu.dropped_at, on_cpu.dropped_at)


def test_training_on_cuda_follows_the_cpu_run(tmp_path):
    losses = {}
    for device in ("cpu", "cuda"):
        cfg = write_config(tmp_path, tmp_path / device)
        result = run_train("--config", str(cfg), "--device", device, "--steps", "2")
        assert result.returncode == 0, result.stderr
        lines = [json.loads(l) for l in (tmp_path / device / "metrics.jsonl").read_text().splitlines()]
        losses[device] = [l["loss_bits"] for l in lines if "split" not in l]
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-4)
