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

import pytest  # noqa: E402

from support import tiny_model  # noqa: E402


def pytest_collection_modifyitems(items):
    """Tests under tests/e2e/ (a real browser, a proxy in front of replicas) carry the e2e marker:
    `pytest -m "not e2e"` runs the rest."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A saved tiny checkpoint folder (config.json + model.safetensors), as the app and CLI load it."""
    folder = tmp_path_factory.mktemp("tiny-checkpoint")
    tiny_model(seed=1).save_pretrained(folder)
    return folder
