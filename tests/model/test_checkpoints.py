"""Saving and loading checkpoints: safetensors only, strict, offline Hub cache, clear errors."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants

from support import tiny_model
from model import CheckpointError, ConfigError, ExpireSpanConfig, ExpireSpanLM, trace

TEXT = "Alexander reached Egypt and founded a city on the coast. " * 4


def test_round_trip_gives_identical_outputs(tiny_checkpoint):
    assert sorted(p.name for p in tiny_checkpoint.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = ExpireSpanLM.from_pretrained(tiny_checkpoint)
    original = tiny_model(seed=1)
    a, b = trace(original, TEXT), trace(loaded, TEXT)
    np.testing.assert_array_equal(a.spans, b.spans)
    np.testing.assert_array_equal(a.bits, b.bits)
    np.testing.assert_array_equal(a.dropped_at, b.dropped_at)
    assert loaded.config == original.config and not loaded.training


def test_pickle_weights_are_refused(tmp_path, tiny_checkpoint):
    shutil.copy(tiny_checkpoint / "config.json", tmp_path / "config.json")
    torch.save(tiny_model().state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="pickle"):
        ExpireSpanLM.from_pretrained(tmp_path)


def test_folder_without_weights(tmp_path, tiny_checkpoint):
    shutil.copy(tiny_checkpoint / "config.json", tmp_path / "config.json")
    with pytest.raises(CheckpointError, match="no weights file model.safetensors"):
        ExpireSpanLM.from_pretrained(tmp_path)


def test_weights_that_do_not_fit_the_config(tmp_path, tiny_checkpoint):
    shutil.copy(tiny_checkpoint / "model.safetensors", tmp_path / "model.safetensors")
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "d_model": 64}))
    with pytest.raises(CheckpointError, match="does not match config.json"):
        ExpireSpanLM.from_pretrained(tmp_path)


def test_config_with_unknown_or_impossible_values(tmp_path, tiny_checkpoint):
    shutil.copy(tiny_checkpoint / "model.safetensors", tmp_path / "model.safetensors")
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "ramp": 1}))
    with pytest.raises(CheckpointError, match="ramp must be > 1"):
        ExpireSpanLM.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "rampp": 4}))
    with pytest.raises(CheckpointError, match="unknown config keys: rampp"):
        ExpireSpanLM.from_pretrained(tmp_path)


def fill_hub_cache(repo_id: str, folder: Path) -> None:
    """Lay a checkpoint into the local Hugging Face cache as a download would (refs/main -> snapshot)."""
    repo = Path(hf_constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(folder / name, snapshot / name)


def test_hub_repo_id_loads_offline_from_the_cache(tiny_checkpoint):
    assert hf_constants.HF_HUB_OFFLINE
    fill_hub_cache("expire-span-explorer/tiny", tiny_checkpoint)
    loaded = ExpireSpanLM.from_pretrained("expire-span-explorer/tiny")
    np.testing.assert_array_equal(trace(loaded, TEXT).spans, trace(tiny_model(seed=1), TEXT).spans)


def test_missing_hub_repo_gives_a_clear_error():
    with pytest.raises(CheckpointError, match="not in the local cache"):
        ExpireSpanLM.from_pretrained("expire-span-explorer/does-not-exist")
    with pytest.raises(CheckpointError, match="neither a checkpoint folder nor a valid"):
        ExpireSpanLM.from_pretrained("not a repo id!")


@pytest.mark.parametrize("values, problem", [
    (dict(ramp=1), "ramp must be > 1"),
    (dict(ramp=0), "ramp must be a positive integer"),
    (dict(block_size=128, max_span=64), "block_size (128) must not exceed max_span (64)"),
    (dict(d_model=30, n_heads=4), "n_heads (4) must divide d_model (30)"),
    (dict(init_span_fraction=1.5), "init_span_fraction must be in (0, 1)"),
    (dict(dropout="0.1"), "dropout must be a number"),
    (dict(position_init=0.0), "position_init must be > 0"),
])
def test_impossible_configs_name_the_problem(values, problem):
    with pytest.raises(ConfigError) as err:
        ExpireSpanConfig(**values)
    assert problem in str(err.value)


def test_the_position_table_starts_at_the_configured_scale_and_old_configs_keep_theirs():
    """docs/method.md 14.7: the authors' code starts the table at std 1; configs without the key keep 0.02."""
    torch.manual_seed(0)
    assert ExpireSpanLM(ExpireSpanConfig(position_init=1.0)).key_pe.std().item() == pytest.approx(1.0, rel=0.05)
    old = {k: v for k, v in ExpireSpanConfig().to_dict().items() if k != "position_init"}
    assert ExpireSpanLM(ExpireSpanConfig.from_dict(old)).key_pe.std().item() == pytest.approx(0.02, rel=0.05)
