"""Small JSON files beside a checkpoint's weights (config.json, vocab.json), read safely: size-capped before
reading, and every failure (unreadable, not UTF-8, nested too deeply, not JSON, a number of thousands of
digits) one CheckpointError naming the file, never a traceback."""
import json
from pathlib import Path

from .errors import CheckpointError


def read_small_json(path: Path, name: str, max_bytes: int, what: str):
    """The JSON value in `path` (shown to users as `name`); `what` says what the file should be ("config")."""
    try:
        if Path(path).stat().st_size > max_bytes:
            raise CheckpointError(f"{name} is larger than {max_bytes:,} bytes; it is no {what}")
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"cannot read {name}: {getattr(e, 'strerror', None) or e}") from None
    except RecursionError:
        raise CheckpointError(f"{name} is nested too deeply to be a {what}") from None
    except ValueError as e:  # JSONDecodeError, and integers of more digits than Python converts
        if "digits" in str(e):
            raise CheckpointError(f"{name} holds a number of thousands of digits") from None
        message = str(e)
        raise CheckpointError(f"{name} is not a readable JSON {what}: "
                              f"{message if len(message) <= 160 else message[:157] + '...'}") from None
