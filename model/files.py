"""Writes that never replace what is not a regular file: a target that os.lstat shows exists and is a folder, a
symbolic link, a device node, a FIFO or a socket is refused (OutputError) and left as it is. A file is written
whole, to a new temporary file beside it and then renamed over it, or not at all."""
import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import OutputError

_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"))
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _shown(path) -> str:
    text = str(path)
    return text if len(text) <= 120 else "..." + text[-117:]


def kind_of(path) -> str | None:
    """None when nothing is at path, "a regular file", or what else os.lstat says it is (a link is not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as e:
        raise OutputError(f"cannot write {_shown(path)}: {e.strerror or e}") from None
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_target(path) -> None:
    """Refuse a file to write that exists and is not a regular file."""
    kind = kind_of(path)
    if kind not in (None, "a regular file"):
        raise OutputError(f"{_shown(path)} exists and is {kind}; it was not replaced (give a new file name)")


def check_folder(path) -> None:
    """Refuse a folder to write into that exists and is not a real folder (a link to one included)."""
    kind = kind_of(path)
    if kind not in (None, "a folder"):
        raise OutputError(f"{_shown(path)} exists and is {kind}, not a folder; nothing was written there")


def write_atomic(path, data: bytes | str) -> None:
    """Write a whole file: refused as check_target says, else written to a new temporary file in the same folder
    and renamed over path (a reader sees the old file or the new one, never half of one)."""
    path = Path(path)
    check_target(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:80]}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o666 & ~_UMASK)
        check_target(path)  # again, just before the rename
        os.replace(tmp, path)
        tmp = None
    except OutputError:
        raise
    except OSError as e:
        raise OutputError(f"cannot write {_shown(path)}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
