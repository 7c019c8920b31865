"""Finding and loading checkpoints, and reading user input, without Streamlit (plain, testable functions)."""
import dataclasses
import functools
import hashlib
import logging
import os
import re
from pathlib import Path

import numpy as np
import torch

from model import CheckpointError, ExpireSpanConfig, ExpireSpanError, ExpireSpanLM, InputError
from model.files import read_small
from model.jsonfile import read_small_json
from model.trace import Trace
from model.tasks import collision, corridor
from model.vocab import VOCAB_FILE

from .familiarity import held_out_bits_from_card
from .settings import (CHECKPOINTS_ENV, MAX_CARD_BYTES, MAX_INPUT_BYTES, MAX_RESULTS_BYTES,
                       MAX_RUN_CONFIG_BYTES, SHIPPED)
from .views.corridor import CORRIDOR_CONFIG  # the Teaching page's episodes (settings.CORRIDOR_TASK)

LOG = logging.getLogger("expire_span.app")
ROOT = Path(__file__).resolve().parents[1]
COLLISION_CONFIGS = (collision.SCALED, collision.DEFAULT)
TASKS = ("text", "corridor", "collision")  # what task_of answers, besides "unknown"
HUB_PREFIX = "hub:"  # a source typed into the app's Hub field: a Hub repo id, never a path on the server


def checkpoints_dir() -> Path:
    """Folder of checkpoint folders: $EXPIRE_SPAN_CHECKPOINTS, else checkpoints/ in the repository."""
    return Path(os.environ.get(CHECKPOINTS_ENV) or ROOT / "checkpoints")


def list_checkpoints(folder: Path | None = None) -> dict[str, Path]:
    """Checkpoint folders (config.json + model.safetensors) by name; shipped names first. Every page run asks:
    one directory listing per folder, rather than a look at each file."""
    folder = Path(folder) if folder is not None else checkpoints_dir()
    try:
        with os.scandir(folder) as entries:
            found = sorted((e.name for e in entries if e.is_dir() and _holds_checkpoint(e.path)),
                           key=lambda n: (SHIPPED.index(n) if n in SHIPPED else len(SHIPPED), n))
    except OSError:  # no such folder, or not a folder
        return {}
    return {name: folder / name for name in found}


def _holds_checkpoint(folder: str) -> bool:
    try:
        files = os.listdir(folder)
    except OSError:
        return False
    return "config.json" in files and "model.safetensors" in files


RUN_CONFIG = "run_config.json"  # the training config a checkpoint ships with (model/train.py, model/card.py)


def task_of(name: str, config: ExpireSpanConfig, folder: Path | str | None = None) -> str:
    """'text', 'corridor', 'collision' or 'unknown'. A checkpoint folder's own run_config.json says (its
    data.task, read once per version of the file: run_config_task). Without one (a Hub or converted checkpoint),
    or with one that cannot be read, today's guess: a folder converted from the authors' code (it holds vocab.json,
    a byte vocabulary) is a text model; else by the checkpoint's name, else by its vocabulary size."""
    if folder is not None:
        task = run_config_task(folder)
        if task is not None:
            return task
    return guess_task(name, config, folder)


def run_config_task(folder: Path | str) -> str | None:
    """The task a checkpoint folder's run_config.json names (data.task: 'text', 'corridor' or 'collision'), or
    None when the folder has no run_config.json. A run_config.json that cannot be used (not a regular file, over
    settings.MAX_RUN_CONFIG_BYTES, not JSON, no data.task, or a task the app does not know) is logged once on the
    server and also gives None: the page then falls back to guess_task, as for a checkpoint without one. The
    weights and config.json are what the model needs; the run config only names the page that shows it, so a
    damaged one never hides a checkpoint. Cached per version of the file (its change time and size)."""
    path = Path(folder) / RUN_CONFIG
    try:
        stat = os.stat(path)
    except OSError:  # none (or unreadable, as read_small would say)
        return None
    return _run_config_task(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _run_config_task(path: str, _mtime_ns: int, _size: int) -> str | None:
    try:
        raw = read_small_json(Path(path), RUN_CONFIG, MAX_RUN_CONFIG_BYTES, "run config", CheckpointError)
    except CheckpointError as e:
        LOG.warning("%s: %s; the checkpoint's task is guessed", path, e)
        return None
    data = raw.get("data") if isinstance(raw, dict) else None
    task = data.get("task") if isinstance(data, dict) else None
    if task not in TASKS:
        LOG.warning("%s names no task the app knows (data.task: %.40r); the checkpoint's task is guessed", path, task)
        return None
    return task


def guess_task(name: str, config: ExpireSpanConfig, folder: Path | str | None = None) -> str:
    """The task of a checkpoint without a usable run_config.json: a folder converted from the authors' code
    (holding vocab.json, a byte vocabulary) is a text model; else by the checkpoint's name, else by its
    vocabulary size; 'unknown' when none of these tells."""
    if folder is not None and (Path(folder) / VOCAB_FILE).is_file():
        return "text"
    lowered = name.lower()
    if "corridor" in lowered:
        return "corridor"
    if "collision" in lowered or "object" in lowered:
        return "collision"
    if config.vocab_size == 256:
        return "text"
    if config.vocab_size == corridor.vocab_size(CORRIDOR_CONFIG):
        return "corridor"
    if any(config.vocab_size == collision.vocab_size(c) for c in COLLISION_CONFIGS):
        return "collision"
    return "unknown"


RESULTS = "results.json"  # beside the checkpoint folders: what model.evaluate measured on them


def results_of(source: str) -> dict | None:
    """What was measured on a checkpoint folder: the entry of results.json (in the folder that holds it, as
    model.evaluate writes it) whose Expire-Span model is this folder, by name, or None (a Hub checkpoint, no
    results.json, one that cannot be read, or no entry for this checkpoint). The pages quote measured figures
    from here only, so a figure shown is one the repository's files hold. Read once per version of the file;
    callers only read the dict."""
    if hub_repo(source) is not None:
        return None
    folder = Path(source)
    path = folder.parent / RESULTS
    try:
        stat = os.stat(path)
    except OSError:
        return None
    results = _read_results(str(path), stat.st_mtime_ns, stat.st_size)
    for entry in results.values():
        model = entry.get("expire_span") if isinstance(entry, dict) else None
        checkpoint = model.get("checkpoint") if isinstance(model, dict) else None
        if isinstance(checkpoint, str) and Path(checkpoint).name == folder.name:
            return entry
    return None


def held_out_bits(source: str) -> float | None:
    """A checkpoint's held-out bits per byte (the figure the familiarity note compares a text with): from its
    entry of results.json (results_of), else from its model card's Results section (Hub and converted
    checkpoints, which have no entry); None when neither holds one."""
    measured = (results_of(source) or {}).get("expire_span")
    bits = measured.get("bits") if isinstance(measured, dict) else None
    if isinstance(bits, (int, float)) and not isinstance(bits, bool) and bits > 0:
        return float(bits)
    return held_out_bits_from_card(read_model_card(source))


@functools.lru_cache(maxsize=8)
def _read_results(path: str, _mtime_ns: int, _size: int) -> dict:
    try:
        results = read_small_json(Path(path), RESULTS, MAX_RESULTS_BYTES, "results file", CheckpointError)
    except CheckpointError as e:
        LOG.warning("%s: %s; no measured figures are shown", path, e)
        return {}
    return results if isinstance(results, dict) else {}


UNKNOWN_BYTE = 0xFF  # how a byte read as <unk> is shown: never in UTF-8 text, so it shows as an unknown character


def text_view(trace: Trace, model) -> Trace:
    """The trace of a model with a byte vocabulary (converted from the authors' code) as the text views read a
    byte-level trace: tokens and predictions become the bytes they stand for (<eos>: a line end; <unk>:
    UNKNOWN_BYTE, shown as an unknown character), and token_bytes is None. Positions stay token positions: a line
    end the model drops is not in the trace, so the views show the text as the model read it. Any other trace
    (a model without a byte vocabulary) is returned as is."""
    vocab = getattr(model, "byte_vocab", None)
    if vocab is None or trace.token_bytes is None:
        return trace
    shown = np.where(vocab.byte_of < 0, UNKNOWN_BYTE, vocab.byte_of)
    meta = {**trace.meta, "byte_vocab": {**trace.meta.get("byte_vocab", {}), "shown_as_bytes": True}}
    return dataclasses.replace(trace, tokens=shown[trace.tokens], predictions=shown[trace.predictions],
                               token_bytes=None, meta=meta)


def byte_vocab_note(model, text: str) -> str | None:
    """For a model with a byte vocabulary: in plain words, how it reads this text (line ends dropped or read
    as an end-of-line token, and how many bytes it never saw); None for any other model."""
    vocab = getattr(model, "byte_vocab", None)
    if vocab is None:
        return None
    data = text.encode("utf-8", "surrogatepass")
    unknown, lines = vocab.unknown_bytes(data), data.count(b"\n")
    parts = [f"This model was converted from the authors' code and reads text through its own byte table "
             f"({len(vocab.tokens)} tokens), so positions here are its tokens."]
    if vocab.data_eos:
        parts.append("Line ends are read as its end-of-line token.")
    else:
        parts.append(f"Line ends are dropped, as in its training data: the {lines:,} line end"
                     f"{'' if lines == 1 else 's'} of this text {'is' if lines == 1 else 'are'} not read, and lines "
                     "run on into each other.")
    if unknown:
        are = "is" if unknown == 1 else "are"
        parts.append(f"{unknown:,} byte{'' if unknown == 1 else 's'} of this text never occurred in its training "
                     f"data and {are} read as its unknown token (shown as �).")
    else:
        parts.append("Every byte of this text is in its table.")
    return " ".join(parts)


def collision_config_for(vocab_size: int):
    """The collision task setting whose vocabulary matches a model, or None."""
    return next((c for c in COLLISION_CONFIGS if collision.vocab_size(c) == vocab_size), None)


def device() -> str:
    """'cuda' when a GPU is there, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_label() -> str:
    if torch.cuda.is_available():
        return f"GPU ({torch.cuda.get_device_name(0)})"
    return f"CPU ({torch.get_num_threads()} threads)"


def hub_source(repo: str) -> str:
    """The app's source for a typed Hub repo id, checked with huggingface_hub's own validator; a path or
    anything else that is not a repo id is a CheckpointError (the server's files are never looked at)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    try:
        validate_repo_id(repo)
    except HFValidationError:
        raise CheckpointError("that is not a Hugging Face Hub repo id: give owner/name (letters, digits, '-', '_' "
                              "and '.'), for example facebook/expire-span-enwik8") from None
    return HUB_PREFIX + repo


def hub_repo(source: str) -> str | None:
    """The repo id of a Hub source, else None (a checkpoint folder)."""
    return source[len(HUB_PREFIX):] if source.startswith(HUB_PREFIX) else None


def load_model(source: str) -> ExpireSpanLM:
    """A checkpoint folder, or hub_source(repo id) (offline: from the local cache); raises CheckpointError."""
    repo = hub_repo(source)
    if repo is not None:
        return ExpireSpanLM.from_pretrained(repo, hub_only=True).to(device()).eval()
    return ExpireSpanLM.from_pretrained(source).to(device()).eval()


def public_message(message: str, source: str, name: str) -> str:
    """A loading error as a visitor may see it: the server's paths (the checkpoint folder, the checkpoints
    directory, the Hugging Face cache) replaced by the checkpoint's name."""
    paths = [source, str(checkpoints_dir())]
    try:
        from huggingface_hub import constants
        paths.append(str(constants.HF_HUB_CACHE))
    except ImportError:
        pass
    for p in sorted((p for p in paths if p and not p.startswith(HUB_PREFIX)), key=len, reverse=True):
        message = message.replace(p, name)
    return re.sub(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*", "<server path>", message)


def checkpoint_version(source: str) -> str:
    """Changes when a checkpoint folder's weights are replaced (so caches never serve a stale model)."""
    if hub_repo(source) is not None:
        return ""
    weights = Path(source) / "model.safetensors"
    return str(weights.stat().st_mtime_ns) if weights.is_file() else ""


_IMAGE = re.compile(r"!\[([^\]]*)\]")
_HTML_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)


def without_images(card: str) -> str:
    """A model card with its images turned into links (shown only on a click): markdown ![alt](url) and
    ![alt][ref] become [image: alt](url), so no viewer's browser fetches a remote image by itself."""
    card = _HTML_IMG.sub("(image removed)", card)
    return _IMAGE.sub(lambda m: f"[image: {m.group(1) or 'no description'}]", card)


def read_model_card(source: str) -> str | None:
    """README.md of a checkpoint folder (or of a cached Hub repo) without its YAML header and without images
    that would load by themselves, or None (also for a card that is no regular file or over MAX_CARD_BYTES)."""
    repo = hub_repo(source)
    card = None
    if repo is None:
        card = Path(source) / "README.md"
    else:
        try:
            from huggingface_hub import hf_hub_download
            card = Path(hf_hub_download(repo, "README.md"))
        except Exception:  # not cached, offline, or no card: the page says so
            card = None
    try:
        text = None if card is None else read_small(card, MAX_CARD_BYTES).decode("utf-8", errors="replace")
    except ExpireSpanError:
        text = None
    if text and text.startswith("---"):
        end = text.find("\n---", 3)
        text = text[end + 4:].lstrip() if end >= 0 else text
    return without_images(text) if text else text


def decode_upload(data: bytes) -> str:
    """An uploaded file's text; a clear InputError when it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} at position {e.start} cannot "
                         "be decoded. Save it as UTF-8 (or paste the text) and try again.") from None


def cut_text(text: str, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The longest prefix of text that fits in max_bytes of UTF-8 (never splits a character)."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def digest(tokens) -> str:
    """Short hash of an input (for caches and bookmarks; the text itself never leaves the server)."""
    if isinstance(tokens, str):
        data = tokens.encode("utf-8")
    else:
        data = np.asarray(tokens, dtype=np.int64).tobytes()
    return hashlib.sha1(data).hexdigest()[:12]
