"""The tests' shared helpers, in one place: tiny models and checkpoints, AppTest of the app, chart specs.

tests/conftest.py (fixtures for every test) and the test modules import them by name (pyproject.toml puts
tests/ on pytest's import path)."""
import base64
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from streamlit.testing.v1 import AppTest

from model import ExpireSpanConfig, ExpireSpanLM
from model.tasks import collision

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "app" / "main.py")
CHART_PRELOAD = "es_chart_preload"  # app.ui.CHART_PRELOAD_KEY, named here so tests import no app module first
TINY = dict(vocab_size=256, n_layers=2, d_model=32, n_heads=2, d_ff=64, block_size=8, max_span=64, ramp=4,
            init_span_fraction=0.25)


def tiny_model(seed: int = 0, **overrides) -> ExpireSpanLM:
    """A few-KB random model whose spans vary from token to token (the span predictor is randomised)."""
    torch.manual_seed(seed)
    model = ExpireSpanLM(ExpireSpanConfig(**{**TINY, **overrides}))
    if model.config.expire_span:
        for layer in model.layers:
            torch.nn.init.normal_(layer.attn.span_predictor.weight, std=0.5)
    return model.eval()


def write_checkpoints(folder: Path) -> Path:
    """Tiny random checkpoints named as the shipped ones: text (bytes), corridor, object-collision."""
    tiny_model(seed=1).save_pretrained(folder / "text")
    tiny_model(seed=2, vocab_size=22).save_pretrained(folder / "corridor")
    collision_vocab = collision.vocab_size(collision.SCALED)
    tiny_model(seed=3, vocab_size=collision_vocab, pre_norm=True).save_pretrained(folder / "object-collision")
    (folder / "text" / "README.md").write_text("# Tiny text model\n\nA card with <b>raw html</b>.\n")
    return folder


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    """One torch thread while these tests run: tiny models gain nothing from more, and on a busy 2-core
    machine two threads spin against each other (measured: 150x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def app_checkpoints(tmp_path_factory):
    folder = write_checkpoints(tmp_path_factory.mktemp("app-checkpoints"))
    old = os.environ.get("EXPIRE_SPAN_CHECKPOINTS")
    os.environ["EXPIRE_SPAN_CHECKPOINTS"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("EXPIRE_SPAN_CHECKPOINTS", None)
    else:
        os.environ["EXPIRE_SPAN_CHECKPOINTS"] = old


def new_app(page: str | None = None) -> AppTest:
    """AppTest of app/main.py, run once (and switched to a page, e.g. 'app_pages/about.py')."""
    at = AppTest.from_file(MAIN, default_timeout=240)  # generous: CI machines have 2 cores
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _decode(x):
    if isinstance(x, dict):
        if set(x) >= {"dtype", "bdata"}:
            a = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
            shape = x.get("shape")
            if shape is not None:
                a = a.reshape(shape if isinstance(shape, list) else [int(s) for s in str(shape).split(",")])
            return a
        return {k: _decode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode(v) for v in x]
    return x


def chart_specs(at) -> list[dict]:
    """Every Plotly chart of the page's own as a figure dict, typed arrays decoded to numpy (not the unseen chart
    that loads the chart library in a session's first run, ui.load_chart_library)."""
    specs = [_decode(json.loads(el.proto.spec)) for el in at.get("plotly_chart")]
    return [s for s in specs if s.get("layout", {}).get("meta") != CHART_PRELOAD]


def page_text(at) -> str:
    """All markdown, caption, html, alert and metric text of the page, for 'is it shown' checks."""
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [h.proto.body for h in at.html]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def errors(at) -> list[str]:
    return [e.value for e in at.error]


FIXTURES = ROOT / "tests" / "fixtures" / "official"  # golden outputs of the authors' code (data)


_BUILT = Path(tempfile.mkdtemp(prefix="official-checkpoints-"))


def official_pt(name: str) -> Path:
    """The fixture checkpoint as the authors' trainer saves it (torch.save of a dict with epoch, model, optimizer,
    logger), written here from its safetensors weights and JSON rest, so the repository holds no pickle file."""
    out = _BUILT / f"{name}.pt"
    if not out.exists():
        weights = load_file(FIXTURES / f"{name}.weights.safetensors")
        rest = json.loads((FIXTURES / f"{name}.rest.json").read_text())
        model = OrderedDict((key, weights[key]) for key in rest["order"])
        torch.save({"epoch": rest["epoch"], "model": model, "optimizer": rest["optimizer"],
                    "logger": rest["logger"]}, out)
    return out


def golden(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())
