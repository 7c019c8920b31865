"""A checkpoint converted from the authors' code used on text (docs/method.md 13.5): its vocab.json is loaded
strictly, trace() reads text through it, and the Text page shows it (tiny checkpoints built from the golden
fixtures in tests/fixtures/official/ with the converter)."""
import json
import math
import os
import shutil

import numpy as np
import pytest
import torch
from support import errors, new_app, page_text, single_thread  # noqa: F401

from app import loading, presenter, ui
from app.views import diff
from app.views.words import split_words
from model import CheckpointError, ExpireSpanLM, Tracer, trace
from model.convert_official import convert
from model.vocab import encode_bytes
from support import FIXTURES, golden, official_pt

TEXT = "hello there, world.\nThe world said hello.\nNaïve café ~ 12345 {x}\n" * 6  # some bytes never in train.txt


def _flags(data_eos: bool) -> str:
    flags = golden("post-norm")["flags"]
    return flags if data_eos else flags.replace(" --data-eos", "")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """checkpoints/enwik8-tiny (no --data-eos: line ends dropped, as in the published runs) and
    checkpoints/eos-tiny (--data-eos: line ends are <eos>)."""
    root = tmp_path_factory.mktemp("converted")
    convert(official_pt("post-norm"), _flags(False), FIXTURES, root / "enwik8-tiny")
    convert(official_pt("post-norm"), _flags(True), FIXTURES, root / "eos-tiny")
    return root


@pytest.fixture(scope="module")
def dropped(folder):
    return ExpireSpanLM.from_pretrained(folder / "enwik8-tiny")


@pytest.fixture(scope="module")
def with_eos(folder):
    return ExpireSpanLM.from_pretrained(folder / "eos-tiny")


@torch.no_grad()
def forward_bits(model, ids: np.ndarray) -> np.ndarray:
    """bits[i] = -log2 p(ids[i] | ids before it), the model run directly on the ids in blocks of M."""
    tokens, M = torch.from_numpy(ids)[None], model.config.block_size
    memory, rows = None, []
    for a in range(0, len(ids), M):
        out = model(tokens[:, a:a + M], memory)
        memory = out.memory
        rows.append(out.log_probs[0])
    lp = torch.cat(rows)
    bits = np.full(len(ids), np.nan)
    bits[1:] = (-lp[torch.arange(len(ids) - 1), tokens[0, 1:]] / math.log(2)).numpy()
    return bits


def test_loading_attaches_the_byte_vocabulary_and_saving_writes_it_back(folder, dropped, with_eos, tmp_path):
    assert dropped.byte_vocab is not None and not dropped.byte_vocab.data_eos and with_eos.byte_vocab.data_eos
    assert len(dropped.byte_vocab.tokens) == dropped.config.vocab_size == 34
    assert ExpireSpanLM.from_pretrained("checkpoints/text").byte_vocab is None  # a byte model has none
    dropped.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "vocab.json").read_text()) == \
        json.loads((folder / "enwik8-tiny" / "vocab.json").read_text())
    assert ExpireSpanLM.from_pretrained(tmp_path / "again").byte_vocab == dropped.byte_vocab


@pytest.mark.parametrize("name", ["enwik8-tiny", "eos-tiny"])
def test_trace_of_text_equals_the_mapped_ids(folder, name):
    model = ExpireSpanLM.from_pretrained(folder / name)
    vocab = json.loads((folder / name / "vocab.json").read_text())
    ids = np.array(encode_bytes(TEXT.encode(), vocab))
    t = trace(model, TEXT)
    np.testing.assert_array_equal(t.tokens, ids)
    np.testing.assert_allclose(t.bits, trace(model, ids).bits, equal_nan=True)
    np.testing.assert_allclose(t.bits, forward_bits(model, ids), rtol=0, atol=1e-4, equal_nan=True)
    lines = TEXT.count("\n")
    unknown = sum(b != 10 and str(b) not in vocab["tokens"] for b in TEXT.encode())
    assert unknown > 0
    assert len(t.tokens) == len(TEXT.encode()) - (0 if vocab["data_eos"] else lines)  # line ends dropped
    assert t.meta["byte_vocab"] == {"line_ends": "eos" if vocab["data_eos"] else "dropped",
                                    "line_ends_dropped": 0 if vocab["data_eos"] else lines, "unknown_bytes": unknown}
    assert int((t.token_bytes == -1).sum()) == unknown
    known = t.token_bytes >= 0
    raw = np.frombuffer(TEXT.encode(), np.uint8)
    raw = raw if vocab["data_eos"] else raw[raw != 10]
    np.testing.assert_array_equal(t.token_bytes[known], raw[known])  # the bytes the text was read from
    assert "token_bytes" in t.to_dict() and json.dumps(t.to_dict(), allow_nan=False)


def test_feeding_text_in_pieces_gives_the_same_trace(dropped):
    whole = trace(dropped, TEXT)
    tracer = Tracer(dropped)
    for a, b in [(0, 5), (5, 19), (19, 20), (20, 97), (97, len(TEXT))]:  # cuts next to line ends too
        tracer.feed(TEXT[a:b])
    pieces = tracer.finish()
    np.testing.assert_array_equal(pieces.tokens, whole.tokens)
    np.testing.assert_allclose(pieces.bits, whole.bits, atol=1e-5, equal_nan=True)
    assert pieces.meta == whole.meta


def test_the_app_view_shows_each_token_as_its_byte(dropped):
    t = loading.text_view(trace(dropped, TEXT), dropped)
    raw = np.frombuffer(TEXT.encode(), np.uint8)
    raw = raw[raw != 10]
    known = np.isin(raw, [int(w) for w in dropped.byte_vocab.tokens if w.isdigit()])
    np.testing.assert_array_equal(t.tokens[known], raw[known])
    assert (t.tokens[~known] == loading.UNKNOWN_BYTE).all() and t.token_bytes is None
    words = split_words(t.tokens)  # positions are tokens: the word grouping covers every one
    assert words.stop[-1] == len(t.tokens) and "hello" in words.text and "\ufffd" in "".join(words.text)
    plain = ExpireSpanLM.from_pretrained("checkpoints/text")
    byte_trace = trace(plain, "abc")
    assert loading.text_view(byte_trace, plain) is byte_trace  # other models: unchanged


@pytest.mark.parametrize("content, problem", [
    ("{not json", "is not a readable JSON byte vocabulary"),
    ([1, 2], "must hold a JSON object"),
    ({"tokens": [], "data_eos": False}, "lacks format"),
    ({"format": "pickle", "tokens": [], "data_eos": False}, "format must be 'official-bytes'"),
    ("EXTRA", "unknown key(s) extra"),
    ("DATA_EOS", "data_eos must be true or false"),
    ("BYTE300", "token 0 is '300'"),
    ("DUPLICATE", "appears more than once"),
    ("NO_UNK", "the tokens lack <unk>"),
    ("SHORT", "has 33 tokens, config.json's vocab_size is 34"),
    ("x" * 70_000, "is larger than"),
])
def test_a_malformed_vocab_is_refused_with_one_clear_message(folder, tmp_path, content, problem):
    good = json.loads((folder / "enwik8-tiny" / "vocab.json").read_text())
    tokens = good["tokens"]
    content = {
        "EXTRA": {**good, "extra": 1},
        "DATA_EOS": {**good, "data_eos": "no"},
        "BYTE300": {**good, "tokens": ["300"] + tokens[1:]},
        "DUPLICATE": {**good, "tokens": tokens[:-1] + [tokens[0]]},
        "NO_UNK": {**good, "tokens": tokens[:-1] + ["255"]},
        "SHORT": {**good, "tokens": tokens[1:]},
    }.get(content, content) if isinstance(content, str) else content
    shutil.copytree(folder / "enwik8-tiny", tmp_path / "bad")
    (tmp_path / "bad" / "vocab.json").write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(CheckpointError) as e:
        ExpireSpanLM.from_pretrained(tmp_path / "bad")
    message = str(e.value)
    assert problem in message and "vocab.json" in message and "\n" not in message, message


@pytest.fixture(scope="module")
def app_folder(folder):
    """A checkpoints folder holding only the converted model without line ends, for the app."""
    old = os.environ.get(loading.CHECKPOINTS_ENV)
    app_root = folder / "app"
    shutil.copytree(folder / "enwik8-tiny", app_root / "enwik8-tiny")
    os.environ[loading.CHECKPOINTS_ENV] = str(app_root)
    yield app_root
    if old is None:
        os.environ.pop(loading.CHECKPOINTS_ENV, None)
    else:
        os.environ[loading.CHECKPOINTS_ENV] = old


def test_a_converted_model_is_listed_as_a_text_model(app_folder):
    assert ui.checkpoint_names("text") == ["enwik8-tiny"]
    assert ui.checkpoint_names("corridor") == ui.checkpoint_names("collision") == []


def test_the_text_page_renders_a_converted_model_and_says_line_ends_are_dropped(app_folder, dropped):
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(TEXT).run()
    assert not at.exception and not errors(at), errors(at)
    assert at.radio(key="view").value == "What each layer kept"
    shown = page_text(at)
    lines = TEXT.count("\n")
    unknown = trace(dropped, TEXT).meta["byte_vocab"]["unknown_bytes"]
    assert f"Line ends are dropped, as in its training data: the {lines} line ends of this text are not read" in shown
    assert f"{unknown} bytes of this text never occurred in its training data" in shown
    strips = [h.proto.body for h in at.html if "es-strips" in h.proto.body]
    assert strips and all(f"<b>layer {l}</b>" in strips[-1] for l in range(dropped.config.n_layers))
    assert any("es-longest" in h.proto.body for h in at.html)


def test_every_text_view_works_on_a_converted_model(app_folder):
    """Positions are tokens and each is shown as its byte, so every view of the page works unchanged."""
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(TEXT).run()
    for view in presenter.TEXT_VIEWS:
        at.radio(key="view").set_value(view).run()
        assert not at.exception and not errors(at), (view, at.exception, errors(at))
    assert "Line ends are dropped" in page_text(at)


def test_edit_and_compare_aligns_what_the_model_read(app_folder, dropped):
    """With line ends dropped the typed bytes and the traced positions differ; edit-and-compare aligns the traced
    positions, so each word of version B is compared with the same word of version A."""
    text = "Egypt is old.\nThe river runs.\nEgypt is far.\nWe sail on."
    edited = text.replace("river", "stream")
    ta, tb = (loading.text_view(trace(dropped, t), dropped) for t in (text, edited))
    b_to_a = diff.align_traces(ta, tb)
    read_a, read_b = text.replace("\n", ""), edited.replace("\n", "")  # what the model read
    second_a, second_b = read_a.rindex("Egypt"), read_b.rindex("Egypt")
    assert list(b_to_a[second_b:second_b + 5]) == list(range(second_a, second_a + 5))
    typed = diff.align(text.encode(), edited.encode())  # the typed bytes would pair other positions
    assert typed[edited.rindex("Egypt")] != second_a
    at = new_app()
    at.radio(key="input_kind").set_value("Type or paste").run()
    at.text_area(key="text_input").input(text).run()
    at.radio(key="view").set_value("Edit and compare").run()
    at.text_area(key="text_b").input(edited).run()
    assert not at.exception and not errors(at)
