"""Errors that carry a message meant for the person using the model, not a traceback."""


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
