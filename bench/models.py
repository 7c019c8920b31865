"""What the model benchmarks share: the device, a checkpoint and its same-weights Transformer-XL twin,
held-out text, and peak memory of a piece of work (GPU: the allocator's peak; CPU: the process's peak
resident set, reset before the work through /proc/self/clear_refs)."""
import platform
import sys
from pathlib import Path

import torch

from model import ExpireSpanConfig, ExpireSpanLM

ROOT = Path(__file__).resolve().parents[1]


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def without_expiry(model: ExpireSpanLM, max_span: int | None = None) -> ExpireSpanLM:
    """The same weights as a Transformer-XL: expiry off, the nearest L memories kept (default: the same L)."""
    cfg = {**model.config.to_dict(), "expire_span": False}
    if max_span is not None:
        cfg["max_span"] = max_span
    twin = ExpireSpanLM(ExpireSpanConfig(**cfg))
    weights = {k: v for k, v in model.state_dict().items() if "span_predictor" not in k}
    twin.load_state_dict(weights)
    return twin.to(model.device).eval()


def load(checkpoint: str, device: torch.device) -> ExpireSpanLM:
    return ExpireSpanLM.from_pretrained(checkpoint).to(device).eval()


def heldout_text(n_bytes: int) -> bytes:
    """The first n bytes of the corpus's test split (built by `python -m model.data build-corpus`)."""
    path = ROOT / "data" / "corpus" / "test.txt"
    if not path.exists():
        sys.exit(f"{path} is missing: run `python -m model.data build-corpus` first")
    data = path.read_bytes()
    if len(data) < n_bytes:
        data = data * (n_bytes // len(data) + 1)
    return data[:n_bytes]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class PeakMemory:
    """with PeakMemory(device) as peak: ... ; then peak.mb is the peak extra memory the block used."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mb = float("nan")

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.before = torch.cuda.memory_allocated(self.device)
        else:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM (the peak resident set) to the current VmRSS
            self.before = _status_kb("VmRSS") * 1024
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = _status_kb("VmHWM") * 1024
        self.mb = (peak - self.before) / 2**20
        return False
