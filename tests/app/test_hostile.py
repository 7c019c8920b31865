"""Hostile input: checkpoints, the command line, the Python API, the app's pages, object uploads and training
resume. Every case must end in one clear message (never a traceback), quickly, with nothing written half."""
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from support import ROOT, tiny_model
from safetensors.torch import load_file, save_file
from support import app_checkpoints, errors, new_app, page_text, single_thread  # noqa: F401

from app import loading
from app.views import collision as collision_view
from model import CheckpointError, ConfigError, ExpireSpanConfig, ExpireSpanError, ExpireSpanLM, InputError, trace
from model import hub
from model import train as train_mod
from model.tasks import collision
from model.trace import __main__ as trace_cli

HANG_S = 60  # a case that runs longer counts as a hang


@pytest.fixture(autouse=True)
def no_hang():
    """A case that runs past HANG_S fails: stopped by an alarm (a blocked open() of a FIFO included), or after."""
    def stop(*_):
        raise TimeoutError(f"hang: the case ran past {HANG_S} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_S)
    start = time.perf_counter()
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)
    assert time.perf_counter() - start < HANG_S, "hang: the case ran past 60 s"


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message


# --- 1. checkpoints: sizes capped before allocation, non-finite values refused, huge integers ----------

def checkpoint(tmp_path: Path, config_text: str | None = None, **overrides) -> Path:
    """A tiny checkpoint folder whose config.json is replaced by config_text or updated with overrides."""
    folder = tmp_path / "ckpt"
    tiny_model(seed=1).save_pretrained(folder)
    if config_text is None:
        values = json.loads((folder / "config.json").read_text())
        config_text = json.dumps({**values, **overrides})
    (folder / "config.json").write_text(config_text)
    return folder


HUGE = 10 ** 5000


@pytest.mark.parametrize("overrides, message", [
    (dict(n_layers=1_000_000), "n_layers must be at most 64"),
    (dict(d_model=1_000_000_000), "d_model must be at most 8,192"),
    (dict(vocab_size=1_000_000_000), "vocab_size must be at most 1,000,000"),
    (dict(max_span=1_000_000_000), "max_span must be at most 1,048,576"),
    (dict(d_ff=10 ** 30), "d_ff must be at most 32,768"),
    (dict(d_model=1e9), "d_model must be a positive integer"),
    (dict(span_loss=float("nan")), "span_loss must be a finite number"),
    (dict(pre_div=float("inf")), "pre_div must be a finite number"),
    (dict(dropout=float("-inf")), "dropout must be a finite number"),
])
def test_config_limits_and_non_finite_values_are_refused_before_building(tmp_path, overrides, message):
    folder = checkpoint(tmp_path, **overrides)
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert message in str(err.value) and one_line(str(err.value))
    assert time.perf_counter() - start < 5  # refused, not built


@pytest.mark.parametrize("config_text, message", [
    ('{"n_layers": ' + "7" * 5000 + "}", "thousands of digits"),
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"d_model": 32', "not a readable JSON config"),
    ('{"![k](http://127.0.0.1:9/k.png)": 1}', "unknown config keys"),
])
def test_unreadable_configs_give_one_line(tmp_path, config_text, message):
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(checkpoint(tmp_path, config_text))
    assert message in str(err.value) and one_line(str(err.value))


def test_huge_integer_in_a_config_is_named_not_printed():
    with pytest.raises(ConfigError) as err:
        ExpireSpanConfig(n_layers=HUGE)
    assert "thousands of digits" in str(err.value) and len(str(err.value)) < 300


def test_limits_admit_an_enwik8_size_model():
    cfg = ExpireSpanConfig(vocab_size=256, n_layers=12, d_model=512, n_heads=8, d_ff=2048, block_size=512,
                           max_span=16384, ramp=128)
    with torch.device("meta"):
        assert sum(p.numel() for p in ExpireSpanLM(cfg).parameters()) > 30_000_000


def test_weights_that_do_not_match_the_config_are_refused_from_the_header(tmp_path):
    folder = checkpoint(tmp_path, d_model=64)
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert "does not match config.json" in str(err.value) and "wrong shape" in str(err.value)
    assert one_line(str(err.value))


def test_truncated_weights_are_refused(tmp_path):
    folder = checkpoint(tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        ExpireSpanLM.from_pretrained(folder)
    (folder / "model.safetensors").write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="truncated"):
        ExpireSpanLM.from_pretrained(folder)


def test_a_forged_header_cannot_ask_for_a_huge_allocation(tmp_path):
    folder = checkpoint(tmp_path)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 4 << 40]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="truncated"):
        ExpireSpanLM.from_pretrained(folder)
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    with pytest.raises(CheckpointError, match="not a whole safetensors file"):
        ExpireSpanLM.from_pretrained(folder)


def test_non_finite_weights_are_refused_by_name(tmp_path):
    folder = checkpoint(tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].clone().fill_(float("nan"))
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert name in str(err.value) and "NaN or infinite" in str(err.value)


def test_a_model_too_big_for_the_machine_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "memory_bytes", lambda: 1000)
    with pytest.raises(CheckpointError, match="more than half of this machine"):
        ExpireSpanLM.from_pretrained(checkpoint(tmp_path))


# --- 3. Python API edges ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(inputs="ab\ud800"), "lone surrogate"),
    (dict(inputs=[1, 2], targets=["x", "y"]), "targets must be integers"),
    (dict(inputs=[1, 2], targets=[0.5, 1]), "0.5 at position 0 is not a whole number"),
    (dict(inputs=[1, 2], targets=[float("nan"), 1]), "nan at position 0 is not a whole number"),
    (dict(inputs=[1, 2], targets="ab"), "not a string"),
    (dict(inputs="ab", attention_layer=1.5), "attention_layer must be an integer"),
    (dict(inputs="ab", attention_layer=True), "attention_layer must be an integer"),
    (dict(inputs="ab", span_limit=2.5), "span_limit must be an integer"),
    (dict(inputs=[[1, 2], [3]]), "flat sequence of integers"),
    (dict(inputs=[1.5, 2.0]), "token ids must be integers: 1.5"),
    (dict(inputs=[True, False]), "token ids must be integers"),
    (dict(inputs=[1e300]), "too large"),
])
def test_api_edges_raise_one_input_error_with_the_reason(model, kwargs, message):
    with pytest.raises(InputError) as err:
        trace(model, **kwargs)
    assert message in str(err.value) and isinstance(err.value, ExpireSpanError)


def test_trace_json_is_strict(model, tmp_path):
    t = trace(model, "hello")
    t.spans[0, 0] = float("nan")
    t.meta = {"x": 1}
    t.save_json(tmp_path / "t.json")
    text = (tmp_path / "t.json").read_text()

    def refuse(name):
        raise ValueError(name)
    d = json.loads(text, parse_constant=refuse)
    assert d["bits"][0] is None and d["spans"][0][0] is None


# --- 1, 4, 8. the command line --------------------------------------------------------------------------

@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("hello hostile world " * 5)
    return path


def cli(capsys, *args):
    code = trace_cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", ["missing-folder", "onto-folder"])
def test_cli_bad_out_is_refused_before_tracing(tmp_path, tiny_checkpoint, text_file, capsys, monkeypatch, case):
    monkeypatch.setattr(trace_cli, "trace", lambda *a, **k: pytest.fail("traced before checking --out"))
    out = tmp_path / "nowhere" / "t.json" if case == "missing-folder" else tmp_path
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out", out,
                       "--device", "cpu")
    assert code == 2 and err.startswith("error: ") and one_line(err)
    assert ("does not exist" if case == "missing-folder" else "is a folder") in err


@pytest.mark.parametrize("overrides, message", [
    (dict(n_layers=1_000_000), "n_layers must be at most 64"),
    (dict(d_model=1e9), "d_model must be a positive integer"),
    (dict(span_loss=float("nan")), "finite"),
])
def test_cli_hostile_checkpoint_is_one_line_exit_2(tmp_path, text_file, capsys, overrides, message):
    code, _, err = cli(capsys, "--checkpoint", checkpoint(tmp_path, **overrides), "--text-file", text_file,
                       "--out", tmp_path / "t.json", "--device", "cpu")
    assert code == 2 and err.startswith("error: ") and message in err and one_line(err)
    assert not (tmp_path / "t.json").exists()


def test_cli_huge_integer_config_in_a_subprocess(tmp_path, text_file):
    folder = checkpoint(tmp_path, '{"n_layers": ' + "7" * 5000 + "}")
    r = subprocess.run([sys.executable, "-m", "model.trace", "--checkpoint", str(folder), "--text-file",
                        str(text_file), "--out", str(tmp_path / "t.json"), "--device", "cpu"], cwd=ROOT,
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and one_line(r.stderr), r.stderr


def test_cli_size_limit_flag(tmp_path, tiny_checkpoint, text_file, capsys):
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out",
                       tmp_path / "t.json", "--max-bytes", 10, "--device", "cpu")
    assert code == 2 and "longer than --max-bytes 10" in err and one_line(err)
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", tmp_path / "none.txt", "--out",
                       tmp_path / "t.json", "--device", "cpu")
    assert code == 2 and "cannot read" in err and one_line(err)


def test_cli_shows_progress_on_stderr_and_writes_strict_json(tmp_path, tiny_checkpoint, capsys):
    (tmp_path / "long.txt").write_text("x" * 2000)
    code, out, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", tmp_path / "long.txt", "--out",
                         tmp_path / "t.json", "--device", "cpu")
    assert code == 0 and "tracing" in err and "wrote" in out
    assert not list(tmp_path.glob("*.tmp"))
    json.loads((tmp_path / "t.json").read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}"))


# --- 2, 6. the app: Hub field, markdown, model cards ---------------------------------------------------

def hub_attempt(typed: str):
    at = new_app("app_pages/about.py")
    at.selectbox(key="ckpt_about").set_value("Hugging Face Hub repo id...").run()
    at.text_input(key="ckpt_about_hub").input(typed).run()
    assert not at.exception
    return at


@pytest.mark.parametrize("typed", ["/etc", "/etc/passwd", "../../etc", "checkpoints/../text", "![x](http://127.0.0.1:9/x.png)"])
def test_hub_field_takes_repo_ids_only(app_checkpoints, typed):
    at = hub_attempt(typed)
    (err,) = errors(at)
    assert "not a Hugging Face Hub repo id" in err
    assert "etc" not in err and "passwd" not in err and "has no weights" not in err and "is a file" not in err
    assert "![" not in err


def test_hub_field_never_loads_a_server_folder_that_looks_like_a_repo_id(app_checkpoints, monkeypatch):
    monkeypatch.chdir(app_checkpoints.parent)  # "<folder>/text" is a real relative folder with weights here
    at = hub_attempt(f"{app_checkpoints.name}/text")
    (err,) = errors(at)
    assert "local cache" in err and str(app_checkpoints) not in err


def test_load_errors_never_show_server_paths(app_checkpoints, tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    shutil.copytree(app_checkpoints / "text", folder)
    (folder / "model.safetensors").write_bytes(b"12345")
    message = loading.public_message(str(pytest.raises(CheckpointError, ExpireSpanLM.from_pretrained, folder)
                                         .value), str(folder), "broken")
    assert str(tmp_path) not in message and "broken" in message
    assert "<server path>" in loading.public_message("see /srv/secret/file.json", str(folder), "x")


def test_folder_names_and_cards_render_as_plain_text(app_checkpoints, tmp_path, monkeypatch):
    name = "![x](http:127.0.0.1:9 x.png)"
    shutil.copytree(app_checkpoints / "text", tmp_path / name)
    (tmp_path / name / "README.md").write_text("# Card\n\n![remote](http://127.0.0.1:9/card.png)\n"
                                               "<img src='http://127.0.0.1:9/i.png'>\n")
    monkeypatch.setenv("EXPIRE_SPAN_CHECKPOINTS", str(tmp_path))
    at = new_app("app_pages/about.py")
    at.selectbox(key="ckpt_about").set_value(name).run()
    assert not at.exception
    shown = page_text(at)
    assert "![" not in shown and "<img" not in shown and "[image: remote](http://127.0.0.1:9/card.png)" in shown


def test_about_page_has_the_privacy_note(app_checkpoints):
    text = page_text(new_app("app_pages/about.py"))
    assert "never written to disk" in text and "hash of the text" in text


# --- 3. links: query parameters parsed strictly; a bad one is ignored with a notice ---------------------

@pytest.mark.parametrize("bm, at_value", [
    ("text.0.0.0.0", "²"),  # '²'.isdigit() is true and int('²') fails: the link that broke every page
    ("text.l=²", "0"), ("text.0.0.0.0", "-1"), ("text.0.0.0.0", "99"), ("text.st=99999999999", "0"),
    ("<script>alert(1)</script>", "0"), ("text.v=" + "9" * 5000, "0"), ("~~~", "0"),
])
def test_bad_links_open_the_app_with_a_notice(app_checkpoints, bm, at_value):
    from streamlit.testing.v1 import AppTest
    from support import MAIN
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.query_params["bm"], at.query_params["at"] = bm, at_value
    at.run()
    assert not at.exception and not errors(at)
    assert any(t.value.startswith("Text:") for t in at.title)


@pytest.mark.parametrize("deck, field", [
    ({"format": "expire-span-deck", "version": 99, "title": "t", "slides": [{"page": "text"}]}, "version"),
    ({"format": "expire-span-deck", "version": 1, "title": "t", "slides": [{"page": "text", "text": "x" * 60_000}]},
     "slides[0].text"),
    ({"format": "expire-span-deck", "version": 1, "title": ["t"], "slides": [{"page": "text"}]}, "title"),
    ({"format": "expire-span-deck", "version": 1, "title": "t", "slides": [{"page": "text",
      "controls": {"layer": 1e9}}]}, "slides[0].controls.layer"),
])
def test_hostile_deck_files_are_refused_by_field(deck, field):
    from app.views.decks import DeckError, load_deck
    with pytest.raises(DeckError) as e:
        load_deck(json.dumps(deck))
    assert str(e.value).startswith(field) and one_line(str(e.value))


# --- 4, 5, 6. object uploads ----------------------------------------------------------------------------

def sequence(frames: int = 10) -> dict:
    return json.loads(collision.to_json(collision.generate(collision.SCALED, frames, 0)))


def upload(raw: bytes):
    from test_app_objects import objects_app
    at = objects_app(48)
    at.radio(key="objects_source").set_value("Upload JSON").run()
    at.file_uploader(key="objects_upload").upload("seq.json", raw, "application/json").run()
    assert not at.exception
    return errors(at)


def _with(change) -> bytes:
    d = sequence()
    change(d)
    return json.dumps(d).encode()


@pytest.mark.parametrize("raw, message", [
    (_with(lambda d: d["config"].__setitem__("particles", 2.0)), "particles must be a whole number"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'{"config": {"grid": ' + b"9" * 5000 + b"}}", "thousands of digits"),
    (b" " * 2_000_001, "limited to 2,000,000 bytes"),
    (_with(lambda d: d.__setitem__("task", "![x](http://127.0.0.1:9/t.png)")), "task must be"),
])
def test_page_hostile_uploads(app_checkpoints, raw, message):
    (err,) = upload(raw)
    assert err.startswith("Cannot read this file") and message in re.sub(r"\\(.)", r"\1", err)
    assert "![" not in err


@pytest.mark.parametrize("change, message", [
    (lambda d: d["config"].__setitem__("grid", True), "grid must be a whole number"),
    (lambda d: d["config"].__setitem__("speed", float("nan")), "speed must be a finite number"),
    (lambda d: d.__setitem__("positions", [[[0, 0], [0, 0]]] * (collision.MAX_FRAMES + 1)), "at most 200,000"),
])
def test_upload_parsing_refuses_with_one_line(change, message):
    with pytest.raises(ValueError) as err:
        collision_view.parse_upload(_with(change), max_bytes=10 ** 8)
    assert message in str(err.value) and one_line(str(err.value))


def test_uploads_are_capped_by_tokens_before_tracing():
    raw = json.dumps(sequence(200)).encode()
    with pytest.raises(ValueError, match="at most 800 tokens"):
        collision_view.parse_upload(raw, max_tokens=800)
    assert collision_view.parse_upload(raw, max_tokens=1600).n_frames == 200


def test_upload_bytes_are_capped_before_parsing(monkeypatch):
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed before the size check"))
    with pytest.raises(ValueError, match="limited to 100 bytes"):
        collision_view.parse_upload(b"{}" * 100, max_bytes=100)


# --- 7, 8. training: non-finite settings, atomic saves, damaged state ------------------------------------

RUN_TOML = """
[model]
n_layers = 2
d_model = 16
n_heads = 2
d_ff = 32
block_size = 8
max_span = 32
ramp = 4
span_loss = {span_loss}
[data]
task = "corridor"
min_length = 4
max_length = 30
[train]
batch_size = 2
steps = 9
lr = {lr}
warmup = 2
eval_every = 100
eval_tokens = 64
eval_batch_size = 2
log_every = 1
save_every = 3
out_dir = "{out}"
"""


def run_config(tmp_path, out, span_loss="1e-3", lr="1e-3"):
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML.format(span_loss=span_loss, lr=lr, out=out))
    return train_mod.load_run_config(path)


@pytest.mark.parametrize("span_loss, lr, message", [
    ("nan", "1e-3", "span_loss must be a finite number"),
    ("inf", "1e-3", "span_loss must be a finite number"),
    ("1e-3", "inf", "train.lr must be a finite number"),
])
def test_non_finite_training_settings_are_refused(tmp_path, span_loss, lr, message):
    with pytest.raises(ConfigError, match=message):
        run_config(tmp_path, tmp_path / "run", span_loss, lr)


def steps(run, n):
    for _ in range(n):
        run.train_step()


def weights_of(run):
    return {k: v.clone() for k, v in run.model.state_dict().items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run: its weights after steps 3, 6 and 9."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("ref")
    run = train_mod.Run(run_config(tmp, tmp / "run"), torch.device("cpu"))
    out = {}
    for step in (3, 6, 9):
        steps(run, 3)
        run.save()
        out[step] = weights_of(run)
    return out


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs."""


SAVE_WRITES = 6  # memory, store.safetensors, store.json, folder rename, pointer file, pointer rename


@pytest.mark.parametrize("kill_at", range(SAVE_WRITES + 1))
def test_a_save_killed_between_any_two_writes_resumes_one_whole_step(tmp_path, reference, monkeypatch, kill_at):
    cfg = run_config(tmp_path, tmp_path / "run")
    run = train_mod.Run(cfg, torch.device("cpu"))
    steps(run, 3)
    run.save()
    steps(run, 3)
    count = {"n": 0}

    def counted(fn):
        def wrapper(*args, **kwargs):
            if count["n"] == kill_at:
                raise Killed
            count["n"] += 1
            return fn(*args, **kwargs)
        return wrapper
    with monkeypatch.context() as m:
        m.setattr(train_mod, "save_file", counted(train_mod.save_file))
        m.setattr(train_mod, "write_text", counted(train_mod.write_text))
        m.setattr(os, "replace", counted(os.replace))
        try:
            run.save()
        except Killed:
            pass
    assert count["n"] == min(kill_at, SAVE_WRITES)
    resumed = train_mod.Run(cfg, torch.device("cpu"))
    assert resumed.resume()
    expected_step = 6 if kill_at == SAVE_WRITES else 3  # the pointer switch is the one write that commits a step
    assert resumed.step == expected_step
    for name, value in weights_of(resumed).items():
        assert torch.equal(value, reference[expected_step][name]), name
    steps(resumed, 9 - resumed.step)
    for name, value in weights_of(resumed).items():
        assert torch.equal(value, reference[9][name]), name


def saved_run(tmp_path):
    cfg = run_config(tmp_path, tmp_path / "run")
    run = train_mod.Run(cfg, torch.device("cpu"))
    steps(run, 3)
    run.save()
    folder = tmp_path / "run" / (tmp_path / "run" / "latest").read_text().strip()
    return cfg, folder


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "state.json").write_text("{not json"), "missing or corrupt"),
    (lambda f: (f / "state.json").write_text("[]"), "missing or corrupt"),
    (lambda f: (f / "state.safetensors").write_bytes((f / "state.safetensors").read_bytes()[:100]), "damaged"),
    (lambda f: (f / "memory-rank0.safetensors").unlink(), "damaged"),
    (lambda f: (f.parent / "latest").write_text("../../etc"), "corrupt"),
])
def test_damaged_saved_state_gives_one_line(tmp_path, damage, message):
    cfg, folder = saved_run(tmp_path)
    damage(folder)
    with pytest.raises(ConfigError) as err:
        train_mod.Run(cfg, torch.device("cpu")).resume()
    assert message in str(err.value) and "--fresh" in str(err.value) and one_line(str(err.value))


def test_resume_drops_metrics_written_after_the_save(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, 9)) + "garbage\n")
    train_mod.trim_metrics(log, 4)
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2, 3, 4]


# --- 9. project hygiene ---------------------------------------------------------------------------------

def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.stdout.splitlines() if (ROOT / p).is_file()]


TEXT_SUFFIXES = {".py", ".md", ".toml", ".json", ".sh", ".txt", ".cfg", ".ini", ""}


# the folder beside a checkout that a clone does not have (spelled in pieces so this file does not match)
OUTSIDE_MARKERS = ("../" + "shared", "shared" + "/docs")


def test_nothing_points_outside_the_repository():
    bad = []
    for path in tracked_files():
        if path.suffix not in TEXT_SUFFIXES or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(marker in text for marker in OUTSIDE_MARKERS):
            bad.append(str(path.relative_to(ROOT)))
    assert not bad, f"point outside the repository: {bad}"


# How the work went is not the project's business: dates and machine descriptions instead.
# (words spelled in pieces so this file does not match itself)
NARRATION = re.compile(r"\b(" + "le" + "nt|the dev" + r"ice machine|(first|second|third|fourth|fifth|sixth|"
                       r"seventh|eighth|this|that|earlier|later|previous|next) (development )?(session|stage)s?)\b",
                       re.IGNORECASE)


def shipped_documents() -> list[Path]:
    docs = [ROOT / "README.md", ROOT / "bench" / "README.md", ROOT / "checkpoints" / "README.md",
            ROOT / "checkpoints" / "results.json"]
    docs += sorted((ROOT / "checkpoints").glob("*/README.md"))
    return [p for p in docs if p.is_file()]


def test_project_documents_do_not_narrate_how_the_work_went():
    found = []
    for path in shipped_documents():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hit = NARRATION.search(line)
            if hit:
                found.append(f"{path.relative_to(ROOT)}:{n}: {hit.group(0)}")
    assert not found, "\n".join(found)


def test_model_card_does_not_default_to_a_development_machine():
    import inspect

    from model import card
    assert inspect.signature(card.write_card).parameters["trained_on"].default is inspect.Parameter.empty
    assert card.main(["--name", "x", "--run", "nowhere"]) == 2


# Files of other work in progress when the linter came in (2026-12-01), each to be cleaned by its owner and then
# taken off this list; everything else must stay clean.
def test_ruff_check_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    args = [ruff, "check", "--output-format", "concise", "."]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stdout + r.stderr


def test_dockerignore_keeps_the_build_context_to_what_the_image_needs():
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for name in (".venv", ".git", "runs", "data"):
        assert name in ignored or f"**/{name}" in ignored, name
    copied = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert copied, "the Dockerfile copies nothing"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert source.rstrip("/") not in ignored, f"COPY {source} is excluded by .dockerignore"
    assert {"app", "model", "requirements.txt"} <= set(copied)


def test_finite_checks_do_not_refuse_ordinary_values():
    assert math.isfinite(ExpireSpanConfig(span_loss=0.0, dropout=0.0).span_loss)
    assert np.isfinite(trace(tiny_model(seed=1), "ok").spans).all()


# --- round two (issue 32) -------------------------------------------------------------------------------
# 1. no traceback, exception type or server path reaches a browser; pages fail one way (app/guard.py)

SECRET = "/srv/secret/site-packages/x.py"
HOSTILE_MESSAGE = f"![x](http://127.0.0.1:9/x.png) near {SECRET}"
PAGE_SETUP = {"app_pages/text.py": {}, "app_pages/compare.py": {},
              "app_pages/teaching.py": {"corridor_length": 20}, "app_pages/policies.py": {},
              "app_pages/objects.py": {"objects_frames": 40}}


def test_streamlit_error_details_are_off():
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"  # false still shows a stacktrace in this Streamlit


def page_with(page: str, monkeypatch, error: Exception):
    """A page whose every trace fails with `error`."""
    from streamlit.testing.v1 import AppTest
    from support import MAIN

    from app import store

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(store, "run_trace", fail)
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in PAGE_SETUP[page].items():
        at.session_state[key] = value
    at.run()
    if page != "app_pages/text.py":
        at.switch_page(page).run()
    return at


def shows_one_clean_line(at) -> str:
    assert not at.exception, at.exception
    (err,) = errors(at)
    assert one_line(err) and "Traceback" not in err and SECRET not in err and "/srv/" not in err
    return err


@pytest.mark.parametrize("page", list(PAGE_SETUP))
def test_model_errors_in_pages_are_one_escaped_line_without_paths(app_checkpoints, monkeypatch, page):
    err = shows_one_clean_line(page_with(page, monkeypatch, InputError(HOSTILE_MESSAGE)))
    assert "![" not in err and "<server path>" in re.sub(r"\\(.)", r"\1", err) and "127" in err


@pytest.mark.parametrize("page", list(PAGE_SETUP))
def test_unexpected_failures_in_pages_are_one_line_and_logged(app_checkpoints, monkeypatch, page, caplog):
    err = shows_one_clean_line(page_with(page, monkeypatch, RuntimeError(HOSTILE_MESSAGE)))
    assert "logged" in err and "127" not in err
    assert any(r.exc_info and "RuntimeError" in str(r.exc_info[0]) for r in caplog.records)


def test_a_bare_value_error_is_a_bug_not_a_message(app_checkpoints, monkeypatch):
    err = shows_one_clean_line(page_with("app_pages/text.py", monkeypatch, ValueError("internal detail 42")))
    assert "internal detail" not in err and "logged" in err


def test_a_failing_fragment_is_one_line(app_checkpoints, monkeypatch):
    from app.views import memory

    def fail(*args, **kwargs):
        raise RuntimeError(HOSTILE_MESSAGE)
    monkeypatch.setattr(memory, "held_at", fail)
    at = new_app()
    at.radio(key="view").set_value("Remembered at step t").run()
    err = shows_one_clean_line(at)
    assert "This step cannot be shown" in err


# 2. decks and links: values from the file or link escaped, quoted short, clamped or refused with a notice

def deck_json(**changes) -> dict:
    deck = {"format": "expire-span-deck", "version": 1, "title": "t", "slides": [{"page": "text"}]}
    deck.update(changes)
    return deck


IMAGE = "![k](http://127.0.0.1:9/k.png)"


@pytest.mark.parametrize("deck", [
    deck_json(**{"x" * 1_900_000: 1}),
    deck_json(slides=[{"page": "text", "y" * 1_900_000: 1}]),
    deck_json(slides=[{"page": "p" * 1_900_000}]),
    deck_json(slides=[{"page": "text", "controls": {"z" * 1_900_000: 1}}]),
    deck_json(slides=[{"page": "text", "controls": {"view": "v" * 1_900_000}}]),
    deck_json(version="9" * 1_000_000),
])
def test_deck_errors_quote_at_most_80_characters_of_the_file(deck):
    from app.views.decks import DeckError, load_deck
    with pytest.raises(DeckError) as e:
        load_deck(json.dumps(deck))
    assert len(str(e.value)) < 400 and one_line(str(e.value))
    assert isinstance(e.value, ExpireSpanError)  # the pages' one way to fail


def open_deck(raw: bytes):
    at = new_app()
    at.toggle(key="presenter").set_value(True).run()
    at.file_uploader(key="deck_upload").upload("deck.json", raw, "application/json").run()
    assert not at.exception, at.exception
    return errors(at)


@pytest.mark.parametrize("deck", [
    deck_json(**{IMAGE: 1}),
    deck_json(slides=[{"page": IMAGE}]),
    deck_json(slides=[{"page": "text", IMAGE: 1}]),
    deck_json(slides=[{"page": "text", "controls": {IMAGE: 1}}]),
    deck_json(slides=[{"page": "text", "controls": {"view": IMAGE}}]),
    deck_json(version=IMAGE),
])
def test_a_refused_deck_shows_its_values_escaped(app_checkpoints, deck):
    (err,) = open_deck(json.dumps(deck).encode())
    assert err.startswith("This deck cannot be opened") and one_line(err)
    assert "![" not in err and "](" not in err and "http://" not in err


def test_a_refused_deck_with_a_huge_field_name_shows_a_short_line(app_checkpoints):
    (err,) = open_deck(json.dumps(deck_json(**{"x" * 1_900_000: 1})).encode())
    assert len(err) < 500 and "x" * 81 not in re.sub(r"\\(.)", r"\1", err)


def link_app(bm: str, at_value: str = "0"):
    from streamlit.testing.v1 import AppTest
    from support import MAIN
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["bm"], at.query_params["at"] = bm, at_value
    at.run()
    assert not at.exception, at.exception
    assert not errors(at)
    return at


@pytest.mark.parametrize("bm", ["objects.of=1000000", "objects.of=5", "teaching.cl=999999", "teaching.cl=1401"])
def test_link_values_outside_a_control_are_refused_with_the_notice(app_checkpoints, bm):
    at = link_app(bm)
    assert any("could not be read" in i.value for i in at.info)
    assert at.query_params.get("bm") in (None, "", [], [""])  # the bad part is not written back into the URL


def test_a_link_carries_no_more_slides_than_a_deck(app_checkpoints):
    at = link_app("~".join(["text.l=0"] * 3000))
    assert len(at.session_state["_deck"].slides) == 100
    assert any("3,000 slides" in i.value and "at most 100" in i.value for i in at.info)
    bm = at.query_params["bm"]
    assert (bm[0] if isinstance(bm, list) else bm).count("~") == 99


def test_deck_control_ranges_match_the_controls():
    from app import settings
    from app.views import decks
    assert decks.BY_KEY["corridor_length"].hi == loading.CORRIDOR_CONFIG.max_length
    assert decks.BY_KEY["objects_frames"].hi == settings.OBJECTS_MAX_FRAMES
    assert decks.BY_KEY["objects_frames"].lo == settings.OBJECTS_MIN_FRAMES
    page = (ROOT / "app" / "app_pages" / "objects.py").read_text(encoding="utf-8")
    assert "settings.OBJECTS_MIN_FRAMES, settings.OBJECTS_MAX_FRAMES" in page and 'slider("Frames", lo, hi,' in page


# 3. destructive writes: nothing that is not a regular file is replaced; a run deletes only its own folders

def not_regular_targets(tmp_path) -> dict:
    """Things at a path that a write must never replace: a link to a file, a link to a device, a dangling link,
    a FIFO, a folder. Each victim is a file whose bytes must not change."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    made = {}
    for name, make in {
        "link-to-file": lambda p: p.symlink_to(victim),
        "link-to-dev-null": lambda p: p.symlink_to("/dev/null"),
        "dangling-link": lambda p: p.symlink_to(tmp_path / "nowhere" / "x"),
        "fifo": lambda p: os.mkfifo(p),
        "folder": lambda p: p.mkdir(),
    }.items():
        path = tmp_path / name
        make(path)
        made[name] = path
    return made


def unchanged(tmp_path, made: dict) -> None:
    assert (tmp_path / "victim.txt").read_text() == "precious"
    assert made["link-to-file"].is_symlink() and made["link-to-dev-null"].is_symlink()
    assert made["dangling-link"].is_symlink() and made["folder"].is_dir()
    import stat as stat_mod
    assert stat_mod.S_ISFIFO(os.lstat(made["fifo"]).st_mode)


@pytest.mark.parametrize("kind", ["link-to-file", "link-to-dev-null", "dangling-link", "fifo"])  # folder: above
def test_cli_out_onto_something_that_is_not_a_regular_file_is_refused(tmp_path, tiny_checkpoint, text_file,
                                                                      capsys, kind):
    made = not_regular_targets(tmp_path)
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out", made[kind],
                       "--device", "cpu")
    assert code == 2 and err.startswith("error: ") and one_line(err), err
    assert "not replaced" in err
    unchanged(tmp_path, made)


@pytest.mark.parametrize("leftover", ["folder", "link-to-file"])
def test_cli_a_leftover_out_tmp_is_never_written_through(tmp_path, tiny_checkpoint, text_file, capsys, leftover):
    made = not_regular_targets(tmp_path)
    out = tmp_path / "t.json"
    tmp = tmp_path / "t.json.tmp"
    if leftover == "folder":
        tmp.mkdir()
    else:
        tmp.symlink_to(tmp_path / "victim.txt")
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out", out,
                       "--device", "cpu")
    assert code == 0, err
    json.loads(out.read_text())
    assert (tmp.is_dir() if leftover == "folder" else tmp.is_symlink())
    unchanged(tmp_path, made)


def test_cli_a_very_long_out_name_is_one_line(tmp_path, tiny_checkpoint, text_file, capsys):
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out",
                       tmp_path / ("x" * 300 + ".json"), "--device", "cpu")
    assert code == 2 and err.startswith("error: ") and one_line(err) and len(err) < 400


@pytest.mark.parametrize("kind", ["link-to-file", "dangling-link", "fifo", "folder"])
def test_trace_save_json_refuses_what_is_not_a_regular_file(tmp_path, model, kind):
    made = not_regular_targets(tmp_path)
    with pytest.raises(ExpireSpanError) as err:
        trace(model, "hello").save_json(made[kind])
    assert one_line(str(err.value))
    unchanged(tmp_path, made)


def test_trace_save_json_with_nan_in_meta_writes_nothing(tmp_path, model):
    t = trace(model, "hello")
    (tmp_path / "t.json").write_text("old")
    t.meta = {"seconds": float("nan")}
    with pytest.raises(InputError, match="strict JSON"):
        t.save_json(tmp_path / "t.json")
    assert (tmp_path / "t.json").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "vocab.json", "README.md"])
def test_save_pretrained_never_writes_through_a_link(tmp_path, name):
    made = not_regular_targets(tmp_path)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / name).symlink_to(tmp_path / "victim.txt")
    with pytest.raises(ExpireSpanError) as err:
        tiny_model(seed=1).save_pretrained(folder)
    assert name in str(err.value) and one_line(str(err.value))
    assert sorted(p.name for p in folder.iterdir()) == [name]
    unchanged(tmp_path, made)


def test_save_pretrained_into_a_link_to_a_folder_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(ExpireSpanError, match="not a folder"):
        tiny_model(seed=1).save_pretrained(tmp_path / "link")
    assert not list((tmp_path / "real").iterdir())


@pytest.mark.parametrize("out_dir", ["", ".", "./", " "])
def test_an_out_dir_of_the_current_folder_is_refused(tmp_path, out_dir):
    with pytest.raises(ConfigError, match="train.out_dir must name a folder of its own"):
        run_config(tmp_path, out_dir)


def test_an_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        run_config(tmp_path, tmp_path / "f")


def test_a_save_deletes_only_the_runs_own_state_folders(tmp_path):
    out = tmp_path / "run"
    theirs = ["state-mine", "state-1-2", "state-0000001-5", "state-00000001-5x", "state-00000001.tmp.bak",
              "state-notes.txt", "memory-rank-notes.txt"]
    out.mkdir()
    for name in theirs:
        (out / name).mkdir() if "." not in name else (out / name).write_text("mine")
    (out / "state-00000002-77").symlink_to(tmp_path)  # the right name, but a link: not a folder the run wrote
    ours = out / "state-00000001-123"
    ours.mkdir()
    run = train_mod.Run(run_config(tmp_path, out), torch.device("cpu"))
    steps(run, 3)
    run.save()
    names = {p.name for p in out.iterdir()}
    assert set(theirs) | {"state-00000002-77"} <= names and ours.name not in names
    assert (out / "state-00000002-77").is_symlink() and tmp_path.is_dir()


def test_a_leftover_tmp_that_is_a_link_is_refused_not_followed(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "f").write_text("mine")
    (out / "state-00000003.tmp").symlink_to(tmp_path / "keep")
    run = train_mod.Run(run_config(tmp_path, out), torch.device("cpu"))
    steps(run, 3)
    with pytest.raises(ConfigError) as err:
        run.save()
    assert "state-00000003.tmp" in str(err.value) and one_line(str(err.value))
    assert (tmp_path / "keep" / "f").read_text() == "mine"


def test_converting_into_a_checkpoint_folder_leaves_no_stale_files(tmp_path):
    from support import FIXTURES, golden, official_pt

    from model.convert_official import convert
    out = tmp_path / "ckpt"
    tiny_model(seed=1).save_pretrained(out)
    (out / "metadata.json").write_text('{"baseline": "old-txl"}')
    (out / "run_config.json").write_text("{}")
    convert(official_pt("post-norm"), golden("post-norm")["flags"], FIXTURES, out)
    assert not (out / "metadata.json").exists() and not (out / "run_config.json").exists()
    assert (out / "vocab.json").is_file()
    ExpireSpanLM.from_pretrained(out)


def test_converting_onto_a_link_is_refused(tmp_path):
    from support import FIXTURES, golden, official_pt

    from model.convert_official import main as convert_main
    made = not_regular_targets(tmp_path)
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "README.md").symlink_to(tmp_path / "victim.txt")
    code = convert_main(["--checkpoint", str(official_pt("post-norm")), "--args", golden("post-norm")["flags"],
                         "--data", str(FIXTURES), "--out", str(out)])
    assert code == 2 and sorted(p.name for p in out.iterdir()) == ["README.md"]
    unchanged(tmp_path, made)


# 4. saved state is checked like a config; command-line overrides too

@pytest.mark.parametrize("change, message", [
    (dict(step=-3), "step must be a whole number"),
    (dict(step=1.5), "step must be a whole number"),
    (dict(step="3"), "step must be a whole number"),
    (dict(step=True), "step must be a whole number"),
    (dict(step=10 ** 30), "step must be a whole number"),
    (dict(walker_step=-1), "walker_step must equal its step"),
    (dict(walker_step=10 ** 15), "walker_step must equal its step"),
    (dict(walker_step=2.0), "walker_step must equal its step"),
    (dict(memory_t0=-5), "memory_t0"),
    (dict(seconds=float("nan")), "seconds"),
])
def test_untrusted_saved_state_is_refused(tmp_path, change, message):
    cfg, folder = saved_run(tmp_path)
    meta = json.loads((folder / "state.json").read_text())
    meta.update(change)
    (folder / "state.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError) as err:
        train_mod.Run(cfg, torch.device("cpu")).resume()
    assert message in str(err.value) and "--fresh" in str(err.value) and one_line(str(err.value))


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps must be >= 1"), (["--steps", "-5"], "--steps must be >= 1"),
    (["--out-dir", ""], "--out-dir must name a folder"), (["--out-dir", "."], "--out-dir must name a folder"),
])
def test_command_line_overrides_pass_the_config_checks(tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: pytest.fail("trained with a refused override"))
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML.format(span_loss="1e-3", lr="1e-3", out=tmp_path / "run"))
    assert train_mod.main(["--config", str(path), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and one_line(err)
    assert not (tmp_path / "run").exists()


# 5. weights are floating point

@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.int8, torch.uint8, torch.bool])
def test_integer_or_bool_weights_are_refused_by_name(tmp_path, dtype):
    folder = checkpoint(tmp_path)
    tensors = load_file(str(folder / "model.safetensors"))
    name = sorted(tensors)[-1]
    tensors[name] = torch.zeros(tensors[name].shape, dtype=dtype)
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert name in str(err.value) and "not floating point" in str(err.value) and one_line(str(err.value))


def test_f32_data_relabelled_as_i32_is_refused(tmp_path):
    folder = checkpoint(tmp_path)
    data = bytearray((folder / "model.safetensors").read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    name = next(k for k in sorted(header) if k != "__metadata__")
    header[name]["dtype"] = "I32"
    raw = json.dumps(header, separators=(",", ":")).encode().ljust(n)
    assert len(raw) == n
    (folder / "model.safetensors").write_bytes(bytes(data[:8]) + raw + bytes(data[8 + n:]))
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert name in str(err.value) and "I32" in str(err.value)


# 6. small files: a byte limit on the read itself, and only regular files opened (a link to /dev/zero, a FIFO)

NOT_FILES = ["link-to-dev-zero", "dev-zero", "fifo", "folder"]


def not_a_file(path: Path, kind: str) -> Path:
    """Make `path` something a small-file read must refuse at once: a link to /dev/zero, a FIFO, a folder (or
    give /dev/zero itself)."""
    if kind == "dev-zero":
        return Path("/dev/zero")
    if path.is_symlink() or path.is_file():
        path.unlink()
    if kind == "link-to-dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


def quick_one_line(error: BaseException, start: float) -> None:
    assert one_line(str(error)) and time.perf_counter() - start < 10, str(error)


@pytest.mark.parametrize("kind", NOT_FILES)
def test_small_reads_open_regular_files_only(tmp_path, kind):
    from model.files import read_small
    start = time.perf_counter()
    with pytest.raises(ExpireSpanError) as err:
        read_small(not_a_file(tmp_path / "f.json", kind), 1000, "f.json")
    assert "not a regular file" in str(err.value)
    quick_one_line(err.value, start)


def test_small_reads_stop_at_the_limit_and_follow_links_to_files(tmp_path):
    from model import files
    (tmp_path / "big").write_bytes(b"x" * 1001)
    with pytest.raises(ExpireSpanError, match="larger than 1,000 bytes"):
        files.read_small(tmp_path / "big", 1000, "big")
    (tmp_path / "ok").write_bytes(b"y" * 1000)
    (tmp_path / "link").symlink_to(tmp_path / "ok")  # the Hub cache links a snapshot's files to its blobs
    assert files.read_small(tmp_path / "link", 1000, "ok") == b"y" * 1000
    with pytest.raises(CheckpointError, match="cannot read nowhere"):
        files.read_small(tmp_path / "nowhere", 10, "nowhere", error=CheckpointError)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from support import FIXTURES, golden, official_pt

    from model.convert_official import convert
    return convert(official_pt("post-norm"), golden("post-norm")["flags"], FIXTURES,
                   tmp_path_factory.mktemp("converted") / "ckpt")


@pytest.mark.parametrize("name", ["config.json", "vocab.json"])
@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo"])
def test_a_checkpoints_small_files_are_never_read_from_a_device_or_fifo(tmp_path, converted, name, kind):
    folder = tmp_path / "ckpt"
    shutil.copytree(converted, folder)
    not_a_file(folder / name, kind)
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        ExpireSpanLM.from_pretrained(folder)
    assert name in str(err.value)
    quick_one_line(err.value, start)


@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo"])
def test_a_saved_state_json_that_is_no_file_is_refused(tmp_path, kind):
    cfg, folder = saved_run(tmp_path)
    not_a_file(folder / "state.json", kind)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        train_mod.Run(cfg, torch.device("cpu")).resume()
    assert "--fresh" in str(err.value)
    quick_one_line(err.value, start)


@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo"])
def test_model_cards_and_metadata_that_are_no_file_are_left_out(tmp_path, kind):
    from app import baselines
    folder = tmp_path / "ckpt"
    tiny_model(seed=1).save_pretrained(folder)
    not_a_file(folder / "README.md", kind)
    not_a_file(folder / "metadata.json", kind)
    start = time.perf_counter()
    assert loading.read_model_card(str(folder)) is None
    assert baselines.baseline_of(folder, {"ckpt": folder}) is None
    assert time.perf_counter() - start < 10


def test_a_huge_model_card_is_not_read_whole(tmp_path):
    folder = tmp_path / "ckpt"
    tiny_model(seed=1).save_pretrained(folder)
    (folder / "README.md").write_bytes(b"# big\n" + b"x" * (loading.MAX_CARD_BYTES + 10))
    assert loading.read_model_card(str(folder)) is None


@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo"])
def test_a_deck_file_that_is_no_file_is_refused(tmp_path, kind):
    from app.views.decks import DeckError, read_deck_file
    start = time.perf_counter()
    with pytest.raises(DeckError) as err:
        read_deck_file(not_a_file(tmp_path / "deck.json", kind))
    quick_one_line(err.value, start)


def finished_run(tmp_path) -> Path:
    """A run folder as model.card reads it: final/, run_config.json and metrics.jsonl."""
    run = tmp_path / "run"
    tiny_model(seed=1).save_pretrained(run / "final")
    (run / "run_config.json").write_text(json.dumps({"data": {"task": "corridor"}, "model": {}, "train": {}}))
    (run / "metrics.jsonl").write_text(json.dumps({"step": 1, "tokens": 8, "seconds": 1.0, "tok_per_s": 8}) + "\n")
    return run


@pytest.mark.parametrize("name", ["run_config.json", "metrics.jsonl"])
@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo"])
def test_card_reads_a_runs_files_bounded(tmp_path, capsys, name, kind):
    from model import card as card_mod
    run = finished_run(tmp_path)
    not_a_file(run / name, kind)
    start = time.perf_counter()
    code = card_mod.main(["--run", str(run), "--name", "x", "--out", str(tmp_path / "out"), "--trained-on", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and name in err and one_line(err), err
    assert time.perf_counter() - start < 10 and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", None])
def test_a_bad_init_from_config_is_one_config_error(tmp_path, text):
    folder = tmp_path / "start"
    tiny_model(seed=1).save_pretrained(folder)
    if text is None:
        not_a_file(folder / "config.json", "fifo")
    else:
        (folder / "config.json").write_text(text)
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML.format(span_loss="1e-3", lr="1e-3", out=tmp_path / "run") + f'init_from = "{folder}"\n')
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        train_mod.load_run_config(path)
    assert "init_from" in str(err.value) and "config.json" in str(err.value)
    quick_one_line(err.value, start)


# 7. no regex over user-sized text worse than linear

@pytest.mark.parametrize("card", [
    "## Results\n" * 15_000,
    "## Results\n" + "\n" * 300_000,
    "## Results\n" + " \n" * 150_000 + "- bits: 1.5\n",
])
def test_reading_the_test_figure_from_a_large_card_is_linear(card):
    from app import familiarity
    start = time.perf_counter()
    found = familiarity.held_out_bits_from_card(card)
    assert time.perf_counter() - start < 1
    assert found == (1.5 if card.endswith("1.5\n") else None)


def test_the_test_figure_is_still_read_from_a_card():
    from app import familiarity
    card = "# m\n\n## Results (held-out)\n\n- other: 2\n  - bits:  1.7606  \n## Use\n- bits: 9\n"
    assert familiarity.held_out_bits_from_card(card) == pytest.approx(1.7606)
    assert familiarity.held_out_bits_from_card("- bits: 1.5\n## Results\n") is None
    assert familiarity.held_out_bits_from_card("## Results\n- bits: 1.5x\n- bits: 2\n") == 2


# 8. converted vocabularies: only tokens the loader accepts; a card's values never leave their place

def converted_with(tmp_path, train_text: bytes | None = None, args: str | None = None, state=None):
    """convert_official.main on the fixture with train.txt, --args or the state dict changed: (code, err)."""
    from support import FIXTURES, golden, official_pt

    from model import convert_official
    data = tmp_path / "data"
    shutil.copytree(FIXTURES, data)
    if train_text is not None:
        (data / "train.txt").write_bytes(train_text)
    pt = official_pt("post-norm")
    if state is not None:
        raw = torch.load(pt, weights_only=True)
        state(raw)
        pt = tmp_path / "changed.pt"
        torch.save(raw, pt)
    code = convert_official.main(["--checkpoint", str(pt), "--args", golden("post-norm")["flags"] if args is None
                                  else args, "--data", str(data), "--out", str(tmp_path / "out")])
    return code


@pytest.mark.parametrize("token", ["²", "٤٦", "007", "+5", "1_0", "٣"])
def test_converted_vocabularies_refuse_digits_the_loader_refuses(tmp_path, capsys, token):
    from support import FIXTURES
    train = (FIXTURES / "train.txt").read_text() + f"32 {token} 33\n"
    code = converted_with(tmp_path, train.encode())
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "integers 0..255" in err and one_line(err), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["not-utf8", "unbalanced-quote", "model-not-dict", "tensor-is-a-string",
                                  "key-pe-wrong-size", "weight-wrong-shape", "weight-is-a-dict"])
def test_converter_failures_are_one_line(tmp_path, capsys, case):
    from support import FIXTURES, golden

    def first(raw, change):
        key = next(k for k in raw["model"] if k.endswith(".weight"))
        raw["model"][key] = change(raw["model"][key])
    kwargs = {
        "not-utf8": dict(train_text=(FIXTURES / "train.txt").read_bytes() + b"\xff\xfe 32\n"),
        "unbalanced-quote": dict(args=golden("post-norm")["flags"] + " --lr '0.1"),
        "model-not-dict": dict(state=lambda raw: raw.__setitem__("model", [1, 2])),
        "tensor-is-a-string": dict(state=lambda raw: first(raw, lambda v: "weights")),
        "key-pe-wrong-size": dict(state=lambda raw: raw["model"].__setitem__(
            "layers.0.attn.attn.key_pe", torch.zeros(3))),
        "weight-wrong-shape": dict(state=lambda raw: first(raw, lambda v: torch.zeros(2, 2))),
        "weight-is-a-dict": dict(state=lambda raw: raw["model"].__setitem__("in_emb.weight", {"x": 1})),
    }[case]
    code = converted_with(tmp_path, **kwargs)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and one_line(err) and len(err) < 600, err
    assert not (tmp_path / "out").exists()


FENCE_BREAKERS = ["1\n```\n# Injected\n<img src=http://127.0.0.1:9/x.png>", "``` `` `", "2`\n\n## Use\nrun me"]


@pytest.mark.parametrize("value", FENCE_BREAKERS)
def test_a_checkpoint_value_never_leaves_its_place_in_the_card(value):
    from model.convert_official import card
    flags = f"--nlayers 2 {value}"
    text = card(Path(f"run{value}.pt"), "ab" * 32, flags, value, ExpireSpanConfig(), False)
    lines = text.splitlines()
    opening = next(i for i, line in enumerate(lines) if line.startswith("```"))
    fence = lines[opening]
    closing = next(i for i in range(opening + 1, len(lines))  # CommonMark: only backticks, at least as many
                   if set(lines[i].strip()) == {"`"} and len(lines[i].strip()) >= len(fence))
    assert "\n".join(lines[opening + 1:closing]) == flags  # the flags' block holds them whole, and ends after them
    outside = lines[:opening] + lines[closing + 1:]
    assert not any(line.lstrip().startswith("```") for line in outside), text
    assert [line for line in outside if line.lstrip().startswith(("#", "<"))] == [lines[0], "## Training flags",
                                                                               "## Model"], text
    assert "<img" not in re.sub(r"`[^`\n]*`", "", "\n".join(outside))  # inert only inside a code span


def test_a_card_name_that_is_not_a_folder_name_is_refused(tmp_path, capsys):
    from model import card as card_mod
    run = finished_run(tmp_path)
    code = card_mod.main(["--run", str(run), "--name", "x')\n```\n# evil", "--out", str(tmp_path / "out"),
                          "--trained-on", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "--name" in err and one_line(err), err
    assert not (tmp_path / "out").exists()


# 9. sliders whose range could be empty: tiny inputs show the one value instead of a crash

def tiny_text(text: str, view: str):
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(text).run()
    at.radio(key="view").set_value(view).run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    return at


def test_one_byte_with_memory_lifetimes(app_checkpoints):
    at = tiny_text("a", "Memory lifetimes")
    assert "life_start" not in [s.key for s in at.slider]
    assert "From byte: 0" in page_text(at)


def test_two_bytes_with_attention_at_step_t(app_checkpoints):
    at = tiny_text("ab", "Attention at step t")
    assert "att_step" not in [s.key for s in at.slider]
    assert "Step t: the byte that reads: 1" in page_text(at)


@pytest.mark.parametrize("view", ["Remembered at step t", "Memory lifetimes", "Attention at step t"])
def test_tiny_texts_in_every_stepped_view(app_checkpoints, view):
    for text in ("a", "ab", "abc"):
        tiny_text(text, view)


def test_a_one_frame_object_upload(app_checkpoints):
    errs = upload(collision.to_json(collision.generate(collision.SCALED, 1, 0)).encode())
    assert not errs, errs


# 10. training: configs and saved tensors checked, one error line

@pytest.mark.parametrize("text, message", [
    ("model = 3\n[data]\ntask = \"corridor\"\n", "[model] must be a table"),
    ('data = "corridor"\n', "[data] must be a table"),
    ("train = [1, 2]\n[data]\ntask = \"corridor\"\n", "[train] must be a table"),
    (b"\xff\xfe[model]\n", "not UTF-8"),
    ("[data]\ntask = \"corridor\"\n[train]\nsteps = \"ten\"\n", "train.steps must be an integer"),
    ("[data]\ntask = \"corridor\"\n[train]\nnope = 1\n", "unknown [train] keys"),
    ("[data]\ntask = [1]\n", "data.task must be"),
])
def test_training_configs_that_cannot_be_read_are_one_error_line(tmp_path, capsys, monkeypatch, text, message):
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: pytest.fail("trained with a refused config"))
    path = tmp_path / "run.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert train_mod.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and one_line(err), err


@pytest.mark.parametrize("value", ["two", "0", "-1", "1e3", ""])
def test_a_bad_world_size_is_one_error_line(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: pytest.fail("trained with a bad WORLD_SIZE"))
    monkeypatch.setenv("WORLD_SIZE", value)
    path = tmp_path / "run.toml"
    path.write_text(RUN_TOML.format(span_loss="1e-3", lr="1e-3", out=tmp_path / "run"))
    assert train_mod.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "WORLD_SIZE" in err and one_line(err), err


def retensor(path: Path, change) -> None:
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path))


def first_key(tensors: dict, prefix: str) -> str:
    return next(k for k in sorted(tensors) if k.startswith(prefix))


@pytest.mark.parametrize("file, change, message", [
    ("memory-rank0.safetensors", lambda t: t.__setitem__("memory.0.hidden", t["memory.0.hidden"][..., :3].contiguous()),
     "memory.0.hidden"),
    ("memory-rank0.safetensors", lambda t: t.__setitem__("memory.0.hidden", t["memory.0.hidden"].double()),
     "memory.0.hidden"),
    ("memory-rank0.safetensors", lambda t: t.__setitem__("memory.1.position", t["memory.1.position"].float()),
     "memory.1.position"),
    ("memory-rank0.safetensors", lambda t: t.pop("memory.1.hidden"), "memory.1.hidden"),
    ("memory-rank0.safetensors", lambda t: t.__setitem__("rng.torch", torch.zeros(3)), "rng.torch"),
    ("state.safetensors", lambda t: t.__setitem__(first_key(t, "model."), torch.zeros(3)), "model."),
    ("state.safetensors", lambda t: t.__setitem__(first_key(t, "model."), t[first_key(t, "model.")].int()),
     "model."),
    ("state.safetensors", lambda t: t.__setitem__(first_key(t, "optim."), torch.zeros(3, 3)), "optim."),
])
def test_resumed_tensors_of_the_wrong_shape_or_dtype_are_refused(tmp_path, file, change, message):
    cfg, folder = saved_run(tmp_path)
    retensor(folder / file, change)
    with pytest.raises(ConfigError) as err:
        train_mod.Run(cfg, torch.device("cpu")).resume()
    assert message in str(err.value) and "--fresh" in str(err.value) and one_line(str(err.value))


# 11. the command lines: Ctrl-C is one line and 130, a closed stdout is quiet and 141, every failure one line

def cli_mains():
    from model import card as card_mod
    from model import convert_official, evaluate
    return {
        "trace": (trace_cli, "check_out", ["--checkpoint", "c", "--text-file", "t", "--out", "o"]),
        "train": (train_mod, "load_run_config", ["--config", "c.toml"]),
        "convert": (convert_official, "convert", ["--checkpoint", "c", "--args", "", "--data", "d", "--out", "o"]),
        "evaluate": (evaluate, "measure", ["--task", "corridor", "--checkpoint", "c", "--results", "none/r.json"]),
        "card": (card_mod, "_main", ["--name", "x"]),
    }


@pytest.mark.parametrize("name", ["trace", "train", "convert", "evaluate", "card"])
def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch, name):
    module, target, args = cli_mains()[name]

    def interrupt(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(module, target, interrupt)
    assert module.main(args) == 130
    out = capsys.readouterr()
    assert out.out == "" and "interrupted" in out.err and one_line(out.err), out.err


class ClosedPipe:
    """sys.stdout whose reader has gone: every write is EPIPE."""
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        pass


@pytest.mark.parametrize("name", ["trace", "train", "convert", "evaluate", "card"])
def test_a_closed_stdout_ends_quietly_with_141(capsys, monkeypatch, name):
    module, target, args = cli_mains()[name]
    monkeypatch.setattr(module, target, lambda *a, **k: print("a result line"))
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert module.main(args) == 141
    assert capsys.readouterr().err == ""


def test_a_closed_stdout_pipe_in_a_real_process(tmp_path, tiny_checkpoint, text_file):
    p = subprocess.Popen([sys.executable, "-m", "model.trace", "--checkpoint", str(tiny_checkpoint), "--text-file",
                          str(text_file), "--out", str(tmp_path / "t.json"), "--device", "cpu"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    p.stdout.close()  # nobody reads what it prints
    err = p.stderr.read().decode()
    p.wait(timeout=HANG_S)
    assert p.returncode == 141 and "Error" not in err and "Traceback" not in err, err  # the progress bar only


@pytest.mark.parametrize("value", [10 ** 30, 2 ** 63, -1])
def test_cli_max_bytes_out_of_range_is_one_line(tmp_path, tiny_checkpoint, text_file, capsys, value):
    code, _, err = cli(capsys, "--checkpoint", tiny_checkpoint, "--text-file", text_file, "--out",
                       tmp_path / "t.json", "--max-bytes", value, "--device", "cpu")
    assert code == 2 and err.startswith("error: ") and "--max-bytes" in err and one_line(err), err


@pytest.mark.parametrize("results, run_config, extra", [
    ("{not json", None, []),
    ("[]", None, []),
    ('{"corridor": 3}', None, ["--baseline-only", "--baseline", "b"]),
    ("1" * 5000, None, []),
    (None, "{not json", []),
    (None, "[]", []),
    (None, '{"data": {}, "train": {}}', []),
])
def test_evaluate_ends_every_failure_in_one_line(tmp_path, capsys, results, run_config, extra):
    from model import evaluate
    folder = tmp_path / "ckpt"
    tiny_model(seed=2, vocab_size=22).save_pretrained(folder)
    if results is not None:
        (tmp_path / "results.json").write_text(results)
    if run_config is not None:
        (folder / "run_config.json").write_text(run_config)
    code = evaluate.main(["--task", "corridor", "--checkpoint", str(folder), "--results",
                          str(tmp_path / "results.json"), "--tokens", "64", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and one_line(err) and len(err) < 600, err


@pytest.mark.parametrize("kind", ["fifo", "zero", "folder"])
def test_evaluate_reads_results_and_run_config_only_from_regular_files(tmp_path, capsys, kind):
    from model import evaluate
    folder = tmp_path / "ckpt"
    tiny_model(seed=2, vocab_size=22).save_pretrained(folder)
    (folder / "run_config.json").write_text('{"data": {"task": "corridor"}, "train": {"seed": 0}}')
    target = tmp_path / "results.json"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "zero":
        target.symlink_to("/dev/zero")
    else:
        target.mkdir()
    code = evaluate.main(["--task", "corridor", "--checkpoint", str(folder), "--results", str(target),
                          "--tokens", "64"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and one_line(err), err


# 12. one way to fail: the core raises InputError for bad input, the pages catch it through ui.failures only

def test_pages_catch_model_errors_only_through_the_failure_helper():
    for path in sorted((ROOT / "app").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "except (ExpireSpanError, ValueError)" not in source, path


def test_the_core_raises_no_bare_value_error():
    for folder in ("model", "app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "tasks" in path.parts or path.name == "kept.py":
                continue
            assert "raise ValueError(" not in path.read_text(encoding="utf-8"), path


def test_bad_input_to_the_core_is_an_input_error(model):
    from app.views import attention, scales
    from model.policies import visible_memories
    with pytest.raises(InputError):
        scales.scale_values(np.zeros((1, 3)), "no such scale")
    t = trace(model, "hello there", attention_layer=0)
    with pytest.raises(InputError):
        attention.read_by([t], 10_000)
    model.train()
    try:
        with pytest.raises(InputError):
            model(torch.zeros(1, model.config.block_size + 1, dtype=torch.long))
    finally:
        model.eval()
    t.meta = {"policy": "window"}
    with pytest.raises(InputError):
        visible_memories(t)
