"""Errors that carry a message meant for the person using the model, not a traceback."""
import numbers


class ExpireSpanError(Exception):
    """Base class: the message alone says what went wrong and how to fix it."""


class ConfigError(ExpireSpanError, ValueError):
    """A configuration that cannot describe a working model."""


class InputError(ExpireSpanError, ValueError):
    """Input the model cannot run on (empty, out of vocabulary, too long for a request)."""


class CheckpointError(ExpireSpanError, OSError):
    """A checkpoint that cannot be found or loaded safely."""


class OutputError(ExpireSpanError, OSError):
    """A place to write that is refused (it exists and is not a regular file) or cannot be written."""


def whole_number(value, what: str, least: int) -> int:
    """value as an int when it is a whole number (not a bool) of at least `least`; else an InputError naming
    `what` and quoting at most 40 characters of the value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise InputError(f"{what} must be an integer of at least {least} (got {repr(value)[:40]})")
    return int(value)
