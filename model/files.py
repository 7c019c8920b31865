"""Small reads and safe writes. Reads (read_small) open regular files only and stop at a byte limit. Writes never
replace what is not a regular file: a target that os.lstat shows exists and is a folder, a
symbolic link, a device node, a FIFO or a socket is refused (OutputError) and left as it is. A file is written
whole, to a new temporary file beside it and then renamed over it, or not at all."""
import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import InputError, OutputError

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


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_small(path, max_bytes: int, name: str | None = None, error: type = InputError) -> bytes:
    """The bytes of a small file, read with the limit on the read itself (at most max_bytes + 1 bytes, never
    sized by stat()): only a regular file is read (a link to one is followed), so a link to /dev/zero is refused
    at once and a FIFO never blocks (opened without waiting for a writer). Every failure is one `error`."""
    name = _shown(path) if name is None else name
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as e:
        raise error(f"cannot read {name}: {e.strerror or e}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in _KINDS if test(mode)), "something else")
            raise error(f"{name} is {kind}, not a regular file; it was not read")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:
        raise error(f"cannot read {name}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise error(f"{name} is larger than {max_bytes:,} bytes; it was not read")
    return data


def read_small_text(path, max_bytes: int, name: str | None = None, error: type = InputError) -> str:
    """read_small decoded as UTF-8; bytes that are not UTF-8 are one `error` too."""
    data = read_small(path, max_bytes, name, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{_shown(path) if name is None else name} is not UTF-8 text (byte {e.start:,})") from None
