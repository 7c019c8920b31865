"""Checkpoints in the Hugging Face layout (config.json + model.safetensors), from a folder or the Hub.

Saving comes from huggingface_hub's PyTorchModelHubMixin. Loading is ours, for three reasons: weights
load from safetensors only (never a pickle, even one torch would accept), every parameter must match
(the mixin loads non-strictly by default), and every failure ends in one CheckpointError that names
the problem instead of a traceback. Nothing is allocated before the config has passed its limits and the
weights file's header (read on its own, without the data) has been checked against the shapes the config
implies; non-finite weights are refused by name. A checkpoint converted from the authors' code also holds
`vocab.json` (its byte vocabulary, docs/method.md 13.3): read as strictly checked JSON, attached to the model as
`model.byte_vocab` and written back by save_pretrained; without it `model.byte_vocab` is None.
"""
import json
import os
import struct
from pathlib import Path

import torch

from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError, HFValidationError, LocalEntryNotFoundError, RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import validate_repo_id
from safetensors.torch import load_model

from .config import ExpireSpanConfig
from .errors import CheckpointError, ConfigError
from .files import check_folder, check_target
from .jsonfile import read_small_json
from .vocab import VOCAB_FILE, read_vocab

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MAX_CONFIG_BYTES = 1 << 20        # a config.json is a few hundred bytes
MAX_HEADER_BYTES = 100 << 20      # safetensors' own limit for the JSON header
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16"}  # weights are floating point: integer or bool data is refused
SAVED_FILES = (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE, "README.md")  # what save_pretrained may write


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


def resolve_checkpoint(name_or_path, revision=None, cache_dir=None, hub_only=False) -> tuple[Path, Path]:
    """Return local paths of (config.json, model.safetensors) for a folder or a Hub repo id.
    hub_only: a Hub repo id only, never a local path (for ids typed by someone who must not see the server's
    files)."""
    config, weights = _resolve(name_or_path, revision, cache_dir, hub_only)
    return config, weights()


def _resolve(name_or_path, revision, cache_dir, hub_only):
    """(config.json path, a function that returns the weights' path): a Hub repo's weights are fetched only
    after its config has passed its checks."""
    if hub_only:
        try:
            validate_repo_id(str(name_or_path))
        except HFValidationError:
            raise CheckpointError(f"{_shorten(name_or_path)!r} is not a Hugging Face Hub repo id (owner/name: letters, "
                                  "digits, '-', '_' and '.')") from None
    elif os.path.isdir(name_or_path):
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
        return config, lambda: weights
    if not hub_only and os.path.exists(name_or_path):
        raise CheckpointError(f"{name_or_path} is a file; give the checkpoint folder that holds {WEIGHTS_FILE}")
    config = _download(str(name_or_path), CONFIG_FILE, revision, cache_dir)
    return Path(config), lambda: Path(_download(str(name_or_path), WEIGHTS_FILE, revision, cache_dir))


def _vocab_path(name_or_path, revision, cache_dir, hub_only) -> Path | None:
    """The local path of a checkpoint's vocab.json, or None when it has none (a Hub repo's that is not in the
    cache while offline counts as none: the model then reads token ids only)."""
    if not hub_only and os.path.isdir(name_or_path):
        path = Path(name_or_path) / VOCAB_FILE
        return path if path.exists() else None
    try:
        return Path(hf_hub_download(str(name_or_path), VOCAB_FILE, revision=revision, cache_dir=cache_dir))
    except (EntryNotFoundError, LocalEntryNotFoundError):
        return None
    except (HFValidationError, RepositoryNotFoundError, RevisionNotFoundError, OSError) as e:
        raise CheckpointError(f"could not fetch {VOCAB_FILE} of {name_or_path!r}: {_shorten(e, 160)}") from None


def _shorten(text, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def read_config(path: Path, label: str):
    """config.json as an ExpireSpanConfig, every problem (size, JSON, huge integers, limits) a CheckpointError."""
    values = read_small_json(path, f"{label}/{CONFIG_FILE}", MAX_CONFIG_BYTES, "config")
    if not isinstance(values, dict):
        raise CheckpointError(f"{label}/{CONFIG_FILE} must hold a JSON object")
    try:
        return ExpireSpanConfig.from_dict(values)
    except ConfigError as e:
        raise CheckpointError(f"{label}/{CONFIG_FILE}: {e}") from None
    except TypeError as e:  # a key that is not a string
        raise CheckpointError(f"{label}/{CONFIG_FILE}: {e}") from None


def read_header(path: Path, label: str) -> dict:
    """The safetensors header: {name: (dtype, shape)}, read without the tensor data, checked against the size."""
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{label}/{WEIGHTS_FILE} is truncated (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise CheckpointError(f"{label}/{WEIGHTS_FILE} is not a whole safetensors file (header of {n:,} "
                                      f"bytes in a file of {size:,})")
            header = json.loads(f.read(n).decode("utf-8"))
    except OSError as e:
        raise CheckpointError(f"cannot read {label}/{WEIGHTS_FILE}: {e.strerror or e}") from None
    except (ValueError, RecursionError):
        raise CheckpointError(f"{label}/{WEIGHTS_FILE} has a corrupt safetensors header") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{label}/{WEIGHTS_FILE} has a corrupt safetensors header")
    out, end = {}, 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (a, b) = info["dtype"], [int(x) for x in info["shape"]], info["data_offsets"]
            count = 1
            for x in shape:
                count *= x
            ok = (dtype in DTYPE_BYTES and min(shape, default=0) >= 0 and 0 <= a <= b
                  and b - a == count * DTYPE_BYTES[dtype])
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"{label}/{WEIGHTS_FILE}: tensor {_shorten(name)!r} has a corrupt header entry")
        out[name] = (dtype, tuple(shape))
        end = max(end, b)
    if 8 + n + end > size:
        raise CheckpointError(f"{label}/{WEIGHTS_FILE} is truncated: the header promises {8 + n + end:,} bytes, "
                              f"the file has {size:,}")
    return out


def memory_bytes() -> int:
    """Physical memory of this machine (0 if unknown)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def check_weights_header(cls, config, header: dict, label: str) -> None:
    """The header's tensors must be exactly the model's, shape for shape, and fit in memory; checked on a
    model built on the meta device (no memory)."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in cls(config).state_dict().items()}
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    wrong = [k for k in expected if k in header and header[k][1] != expected[k]]
    not_float = [k for k in expected if k in header and header[k][0] not in FLOAT_DTYPES]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensor(s), e.g. {missing[0]}")
    if extra:
        problems.append(f"{len(extra)} unexpected tensor(s), e.g. {_shorten(extra[0])}")
    if wrong:
        k = wrong[0]
        problems.append(f"{len(wrong)} tensor(s) of the wrong shape, e.g. {k} is {list(header[k][1])}, "
                        f"the config implies {list(expected[k])}")
    if not_float:
        k = not_float[0]
        problems.append(f"{len(not_float)} tensor(s) not floating point, e.g. {k} is {header[k][0]} (weights are "
                        f"F32, F16, BF16 or F64)")
    if problems:
        raise CheckpointError(f"{label}/{WEIGHTS_FILE} does not match {CONFIG_FILE}: " + "; ".join(problems))
    need = sum(4 * _numel(shape) for shape in expected.values())
    have = memory_bytes()
    if have and need > have // 2:
        raise CheckpointError(f"{label}: the model needs {need / 2**30:.1f} GiB for its weights, more than half of "
                              f"this machine's {have / 2**30:.1f} GiB")


def _numel(shape) -> int:
    n = 1
    for x in shape:
        n *= x
    return n


class SafetensorsHubMixin(PyTorchModelHubMixin):
    """save_pretrained / push_to_hub from huggingface_hub; a strict, safetensors-only from_pretrained."""

    byte_vocab = None  # a converted model's ByteVocab (vocab.json), else None

    def save_pretrained(self, save_directory, **kwargs):
        """huggingface_hub's save_pretrained, refused (OutputError, nothing written) when the folder, or a file it
        writes there, exists and is not a real folder or a regular file (os.lstat: never through a link)."""
        folder = Path(save_directory)
        check_folder(folder)
        for name in SAVED_FILES:
            check_target(folder / name)
        return super().save_pretrained(save_directory, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The mixin's weights, plus vocab.json when the model has a byte vocabulary (a stale one is removed)."""
        super()._save_pretrained(save_directory)
        path = Path(save_directory) / VOCAB_FILE
        if self.byte_vocab is not None:
            path.write_text(json.dumps(self.byte_vocab.to_json(), indent=1), encoding="utf-8")
        elif path.is_file():
            path.unlink()

    @classmethod
    def from_pretrained(cls, name_or_path, *, revision=None, cache_dir=None, map_location="cpu", hub_only=False):
        """Load a checkpoint folder or Hub repo id (hub_only: a Hub repo id, never a local path). Every check
        (limits, header shapes, memory) runs before the model is built."""
        config_path, fetch_weights = _resolve(str(name_or_path), revision, cache_dir, hub_only)
        label = _shorten(name_or_path, 200)
        config = read_config(config_path, label)
        vocab_path = _vocab_path(str(name_or_path), revision, cache_dir, hub_only)
        byte_vocab = None if vocab_path is None else read_vocab(vocab_path, label, config.vocab_size)
        weights_path = fetch_weights()
        check_weights_header(cls, config, read_header(weights_path, label), label)
        model = cls(config)
        try:
            load_model(model, str(weights_path), strict=True, device=str(map_location))
        except Exception as e:  # safetensors raises several types for a bad or mismatched file
            first = (str(e).splitlines() or [type(e).__name__])[0]
            raise CheckpointError(f"cannot load {label}/{WEIGHTS_FILE}: {_shorten(first, 200)}") from None
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(f"{label}/{WEIGHTS_FILE}: tensor {name} holds NaN or infinite values")
        model.byte_vocab = byte_vocab
        return model.eval()
