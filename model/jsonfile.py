"""Small JSON files beside a checkpoint's weights (config.json, vocab.json), read safely: regular files only, the
size capped by the read itself (model/files.py), and every failure (unreadable, not UTF-8, nested too deeply, not
JSON, a number of thousands of digits) one CheckpointError (or the error given) naming the file."""
import json
from pathlib import Path

from .errors import CheckpointError
from .files import read_small_text


def read_small_json(path: Path, name: str, max_bytes: int, what: str, error: type = CheckpointError):
    """The JSON value in `path` (shown to users as `name`); `what` says what the file should be ("config")."""
    text = read_small_text(path, max_bytes, name, error)
    return parse_json(text, name, what, error)


def parse_json(text: str | bytes, name: str, what: str, error: type = CheckpointError):
    """json.loads, every failure one `error` naming the file."""
    try:
        return json.loads(text)
    except RecursionError:
        raise error(f"{name} is nested too deeply to be a {what}") from None
    except UnicodeDecodeError:
        raise error(f"{name} is not UTF-8 text") from None
    except ValueError as e:  # JSONDecodeError, and integers of more digits than Python converts
        if "digits" in str(e):
            raise error(f"{name} holds a number of thousands of digits") from None
        message = " ".join(str(e).split())
        raise error(f"{name} is not a readable JSON {what}: "
                    f"{message if len(message) <= 160 else message[:157] + '...'}") from None
