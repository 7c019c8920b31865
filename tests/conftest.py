"""Shared fixtures. Tests never touch the network: the Hugging Face Hub is forced offline and its cache
points at a per-session folder (set before huggingface_hub is imported anywhere)."""
import os
import tempfile
from pathlib import Path

_HF_HOME = tempfile.mkdtemp(prefix="hf-home-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HF_HOME, "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]

import pytest  # noqa: E402
import torch  # noqa: E402

from model import ExpireSpanConfig, ExpireSpanLM  # noqa: E402

TINY = dict(vocab_size=256, n_layers=2, d_model=32, n_heads=2, d_ff=64, block_size=8, max_span=64, ramp=4,
            init_span_fraction=0.25)


def tiny_model(seed: int = 0, **overrides) -> ExpireSpanLM:
    """A few-KB random model whose spans vary from token to token (the span predictor is randomised)."""
    torch.manual_seed(seed)
    model = ExpireSpanLM(ExpireSpanConfig(**{**TINY, **overrides}))
    if model.config.expire_span:
        for layer in model.layers:
            torch.nn.init.normal_(layer.attn.span_predictor.weight, std=0.5)
    return model.eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A saved tiny checkpoint folder (config.json + model.safetensors), as the app and CLI load it."""
    folder = tmp_path_factory.mktemp("tiny-checkpoint")
    tiny_model(seed=1).save_pretrained(folder)
    return folder
