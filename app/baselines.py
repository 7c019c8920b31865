"""Which checkpoints name their equal-memory Transformer-XL baseline: `metadata.json` beside the weights
({"baseline": "<folder name>"}, written by `python -m model.card --baseline NAME`)."""
import json
from pathlib import Path

from model import ExpireSpanError
from model.files import read_small

from .settings import MAX_METADATA_BYTES


def baseline_of(folder: Path, available: dict[str, Path]) -> str | None:
    """The baseline's folder name if the checkpoint names one that is among the available checkpoints."""
    try:
        meta = json.loads(read_small(Path(folder) / "metadata.json", MAX_METADATA_BYTES))
    except (ExpireSpanError, ValueError, RecursionError):  # none, not a regular file, too large, not JSON
        return None
    name = meta.get("baseline") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name in available and name != Path(folder).name else None


def pairs(names: list[str], available: dict[str, Path]) -> dict[str, str]:
    """{checkpoint: its baseline} for every named checkpoint whose baseline is available."""
    out = {}
    for name in names:
        base = baseline_of(available[name], available)
        if base:
            out[name] = base
    return out
