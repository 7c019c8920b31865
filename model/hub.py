"""Checkpoints in the Hugging Face layout (config.json + model.safetensors), from a folder or the Hub.

Saving comes from huggingface_hub's PyTorchModelHubMixin. Loading is ours, for three reasons: weights
load from safetensors only (never a pickle, even one torch would accept), every parameter must match
(the mixin loads non-strictly by default), and every failure ends in one CheckpointError that names
the problem instead of a traceback.
"""
import json
import os
from pathlib import Path

from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError, HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .errors import CheckpointError, ConfigError

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def _download(repo_id: str, filename: str, revision: str | None, cache_dir) -> str:
    try:
        return hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir)
    except HFValidationError:
        raise CheckpointError(
            f"{repo_id!r} is neither a checkpoint folder nor a valid Hugging Face repo id") from None
    except RepositoryNotFoundError:
        raise CheckpointError(f"Hugging Face repo {repo_id!r} does not exist (or is private)") from None
    except RevisionNotFoundError:
        raise CheckpointError(f"Hugging Face repo {repo_id!r} has no revision {revision!r}") from None
    except LocalEntryNotFoundError:
        raise CheckpointError(
            f"{filename} of Hugging Face repo {repo_id!r} is not in the local cache and the Hub cannot be "
            "reached (offline). Download it once with network access, or give a checkpoint folder."
        ) from None
    except EntryNotFoundError:
        raise CheckpointError(f"Hugging Face repo {repo_id!r} has no {filename}") from None
    except OSError as e:
        raise CheckpointError(f"could not fetch {filename} of {repo_id!r}: {e}") from None


def resolve_checkpoint(name_or_path, revision=None, cache_dir=None) -> tuple[Path, Path]:
    """Return local paths of (config.json, model.safetensors) for a folder or a Hub repo id."""
    if os.path.isdir(name_or_path):
        folder = Path(name_or_path)
        config, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not weights.is_file():
            pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
            if pickles:
                raise CheckpointError(
                    f"{folder} holds only pickle weights ({', '.join(pickles)}); they are refused because "
                    f"unpickling can run arbitrary code. Convert them to {WEIGHTS_FILE} (safetensors).")
            raise CheckpointError(f"checkpoint folder {folder} has no weights file {WEIGHTS_FILE}")
        if not config.is_file():
            raise CheckpointError(f"checkpoint folder {folder} has no {CONFIG_FILE}")
        return config, weights
    if os.path.exists(name_or_path):
        raise CheckpointError(f"{name_or_path} is a file; give the checkpoint folder that holds {WEIGHTS_FILE}")
    config = _download(str(name_or_path), CONFIG_FILE, revision, cache_dir)
    weights = _download(str(name_or_path), WEIGHTS_FILE, revision, cache_dir)
    return Path(config), Path(weights)


class SafetensorsHubMixin(PyTorchModelHubMixin):
    """save_pretrained / push_to_hub from huggingface_hub; a strict, safetensors-only from_pretrained."""

    @classmethod
    def from_pretrained(cls, name_or_path, *, revision=None, cache_dir=None, map_location="cpu"):
        from safetensors.torch import load_model

        from .config import ExpireSpanConfig

        config_path, weights_path = resolve_checkpoint(str(name_or_path), revision, cache_dir)
        try:
            values = json.loads(Path(config_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"cannot read {config_path}: {e}") from None
        if not isinstance(values, dict):
            raise CheckpointError(f"{config_path} must hold a JSON object")
        try:
            config = ExpireSpanConfig.from_dict(values)
        except ConfigError as e:
            raise CheckpointError(f"{config_path}: {e}") from None
        model = cls(config)
        try:
            load_model(model, str(weights_path), strict=True, device=str(map_location))
        except Exception as e:  # safetensors raises several types for a bad or mismatched file
            raise CheckpointError(f"cannot load weights {weights_path}: {e}") from None
        return model.eval()
