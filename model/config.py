"""Hyperparameters of an Expire-Span language model (the method: docs/method.md)."""
import math
from dataclasses import asdict, dataclass, fields

from .errors import ConfigError

# Upper bounds checked before anything is allocated (a hostile config.json must not exhaust memory). They admit
# an enwik8-size model converted from the paper's code (12 layers, d_model 512, L 16,384) with room to spare.
LIMITS = {"vocab_size": 1_000_000, "n_layers": 64, "d_model": 8192, "n_heads": 128, "d_ff": 32_768,
          "block_size": 8192, "max_span": 1_048_576, "ramp": 1_048_576}


@dataclass
class ExpireSpanConfig:
    vocab_size: int = 256            # bytes for text; tasks bring their own
    n_layers: int = 4
    d_model: int = 256
    n_heads: int = 4
    d_ff: int = 1024
    block_size: int = 64             # M: tokens processed per step
    max_span: int = 1024             # L: the longest span a memory can get
    ramp: int = 32                   # R: length of the soft mask's ramp (method 3.2)
    span_loss: float = 1e-6          # alpha (method 5)
    init_span_fraction: float = 0.1  # p: every span starts at p * L (method 2.2)
    pre_div: float = 1.0             # divides the span predictor's input (method 2.2)
    dropout: float = 0.0
    pre_norm: bool = False           # method 8.2 if True, else 8.1
    expire_span: bool = True         # False: the Transformer-XL baseline (method 7.5)
    span_noise: bool = False         # random span shortening in training (method 6)
    position_init: float = 0.02      # std of the position embedding at init (method 14.7; the authors' code: 1)

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ConfigError("invalid Expire-Span config: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every reason this config is impossible, in words a user can act on."""
        out = []
        ints = ["vocab_size", "n_layers", "d_model", "n_heads", "d_ff", "block_size", "max_span", "ramp"]
        for name in ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(f"{name} must be a positive integer (got {_short(value)})")
            elif value > LIMITS[name]:
                out.append(f"{name} must be at most {LIMITS[name]:,} (got {_short(value)})")
        for name in ["span_loss", "init_span_fraction", "pre_div", "dropout", "position_init"]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                out.append(f"{name} must be a number (got {_short(value)})")
            elif not math.isfinite(value):
                out.append(f"{name} must be a finite number (got {value!r})")
        for name in ["pre_norm", "expire_span", "span_noise"]:
            if not isinstance(getattr(self, name), bool):
                out.append(f"{name} must be true or false (got {_short(getattr(self, name))})")
        if out:
            return out
        if self.d_model % self.n_heads:
            out.append(f"n_heads ({self.n_heads}) must divide d_model ({self.d_model})")
        if self.ramp <= 1:
            out.append(f"ramp must be > 1, else a query can be left with nothing to attend to (got {self.ramp})")
        if self.block_size > self.max_span:
            out.append(f"block_size ({self.block_size}) must not exceed max_span ({self.max_span})")
        if not 0.0 < self.init_span_fraction < 1.0:
            out.append(f"init_span_fraction must be in (0, 1) (got {self.init_span_fraction})")
        if not self.pre_div > 0:
            out.append(f"pre_div must be > 0 (got {self.pre_div})")
        if not 0.0 <= self.dropout < 1.0:
            out.append(f"dropout must be in [0, 1) (got {self.dropout})")
        if not self.position_init > 0:
            out.append(f"position_init must be > 0 (got {self.position_init})")
        if self.span_loss < 0:
            out.append(f"span_loss must be >= 0 (got {self.span_loss})")
        return out

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ExpireSpanConfig":
        """Build a config, refusing keys it does not know (a typo must not pass silently)."""
        if not isinstance(values, dict):
            raise ConfigError("a config must be a JSON object of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known, key=str)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(str(k)[:60] for k in unknown[:10])}")
        return cls(**values)


def _short(value, limit: int = 60) -> str:
    """repr of a value cut to `limit` characters (a 5,000-digit integer must not flood a message)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** 30:
        return f"an integer of {len(str(abs(value))) if abs(value) < 10 ** 4000 else 'thousands of'} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
