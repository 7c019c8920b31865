"""Expire-Span (Sukhbaatar et al., ICML 2021): the model, its checkpoints and its trace."""
from .config import ExpireSpanConfig
from .errors import CheckpointError, ConfigError, ExpireSpanError, InputError, OutputError
from .expire_span import ExpireSpanLM, Memory
from .trace import Trace, Tracer, encode_input, trace

__all__ = ["ExpireSpanConfig", "ExpireSpanLM", "Memory", "Trace", "Tracer", "trace", "encode_input",
           "ExpireSpanError", "ConfigError", "InputError", "CheckpointError", "OutputError"]
