"""model.trace: streaming equals one run, what it records, bad input, and the command line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from support import ROOT, tiny_model
from model import InputError, Tracer, trace
from model.trace import BLOCKS_PER_PASS

rng = np.random.default_rng(0)
LONG = bytes(rng.integers(0, 256, 1000).tolist())


def test_streaming_in_pieces_equals_one_run():
    model = tiny_model(seed=2)
    whole = trace(model, LONG)
    tracer = Tracer(model)
    cuts = [0, 1, 2, 13, 100, 101, 517, 999, 1000]
    for a, b in zip(cuts, cuts[1:]):
        tracer.feed(LONG[a:b])
    pieces = tracer.finish()
    for name in ("tokens", "spans", "dropped_at", "cache_size", "predictions"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(pieces, name), err_msg=name)
    np.testing.assert_array_equal(whole.bits, pieces.bits)
    assert np.isnan(pieces.bits[0]) and not np.isnan(pieces.bits[1:]).any()


def test_trace_records_every_field_with_the_right_shapes():
    model = tiny_model(seed=2)
    seen = []
    t = trace(model, LONG, progress=lambda done, total: seen.append((done, total)))
    L, T, M = model.config.n_layers, len(LONG), model.config.block_size
    assert t.tokens.tolist() == list(LONG)
    assert t.spans.shape == t.dropped_at.shape == (L, T)
    assert t.cache_size.shape == (L, -(-T // M))
    assert t.bits.shape == (T,) and np.isnan(t.bits[0]) and not np.isnan(t.bits[1:]).any()
    assert np.all((t.spans > 0) & (t.spans <= t.max_span))
    assert seen[-1] == (T, T) and len(seen) == -(-T // (BLOCKS_PER_PASS * M))  # once per pass of the model
    # the memory the model holds stays bounded by its spans, whatever the input length
    assert t.cache_size.max() <= t.max_span + t.ramp + 2 * M


def test_bits_are_the_next_token_loss():
    model = tiny_model(seed=2)
    t = trace(model, b"abcabca")
    import torch
    with torch.no_grad():
        out = model(torch.tensor([list(b"abcabca")]))
    expected = -out.log_probs[0, :-1].gather(1, torch.tensor(list(b"bcabca"))[:, None])[:, 0] / np.log(2)
    assert np.isnan(t.bits[0])
    np.testing.assert_allclose(t.bits[1:], expected.numpy(), rtol=1e-5)


def block_by_block_log_probs(model, tokens):
    """log softmax of the model's output at every position, one block of M a call with the cache carried
    over (as evaluation runs it), recomputed in float64 from the output: independent of the Tracer."""
    import torch
    M, rows, memory = model.config.block_size, [], None
    with torch.no_grad():
        for start in range(0, len(tokens), M):
            out = model(torch.as_tensor(tokens[start:start + M])[None], memory)
            memory = out.memory
            rows.append(torch.log_softmax(out.log_probs[0].double(), dim=-1))
    return torch.cat(rows).numpy()


def test_bits_i_is_the_loss_of_token_i_given_the_tokens_before_it():
    """The one convention: bits[i] = -log2 softmax(output at i - 1)[token i]; bits[0] is NaN (nothing comes
    before it) and the last token has a value. Checked over several passes, so across pass boundaries too."""
    model = tiny_model(seed=3)
    data = LONG[:83]  # 10 blocks of 8 and 3 bytes: passes of two blocks, the last one short
    tokens = np.frombuffer(data, np.uint8).astype(np.int64)
    log_probs = block_by_block_log_probs(model, tokens)
    expected = -log_probs[np.arange(len(tokens) - 1), tokens[1:]] / np.log(2)
    t = trace(model, data)
    assert np.isnan(t.bits[0]) and not np.isnan(t.bits[1:]).any()
    np.testing.assert_allclose(t.bits[1:], expected, rtol=1e-5, atol=2e-5)
    # predictions stay the output at each position's guess, i.e. at the next token
    np.testing.assert_array_equal(t.predictions, log_probs.argmax(-1))
    # a token's loss does not depend on what follows it: a prefix (three whole passes) gives the same bits,
    # its last token's included
    prefix = 3 * BLOCKS_PER_PASS * model.config.block_size
    np.testing.assert_array_equal(trace(model, data[:prefix]).bits, t.bits[:prefix])


def test_task_targets_keep_their_meaning():
    """With explicit targets nothing shifts: bits[i] is the loss of the output at i against targets[i]."""
    model = tiny_model(seed=3, vocab_size=12)
    tokens = np.random.default_rng(1).integers(0, 10, 45)
    targets = np.full(45, -1)
    targets[4::5] = tokens[4::5] % 2 + 10
    log_probs = block_by_block_log_probs(model, tokens)
    t = trace(model, tokens, targets=targets)
    scored = targets >= 0
    expected = -log_probs[np.flatnonzero(scored), targets[scored]] / np.log(2)
    assert np.isnan(t.bits[~scored]).all()
    np.testing.assert_allclose(t.bits[scored], expected, rtol=1e-5, atol=2e-5)
    np.testing.assert_array_equal(t.predictions, log_probs.argmax(-1))


def test_task_targets_score_only_where_given():
    model = tiny_model(seed=2, vocab_size=12)
    tokens = np.arange(40) % 10
    targets = np.full(40, -1)
    targets[9::10] = 11
    t = trace(model, tokens, targets=targets)
    assert np.isnan(t.bits[targets < 0]).all() and not np.isnan(t.bits[targets >= 0]).any()
    assert t.targets.tolist() == targets.tolist()


def test_any_pasted_text_is_valid_input():
    model = tiny_model(seed=2)
    text = "naïve café — 東京 🙂 <script>alert(1)</script>\x00"
    t = trace(model, text)
    assert bytes(t.tokens.tolist()).decode("utf-8") == text


@pytest.mark.parametrize("bad, message", [
    ("", "the input is empty"),
    (b"", "the input is empty"),
    ([], "the input is empty"),
    ([1, 2, 256], "token id 256 at position 2 is outside the vocabulary 0..255"),
    ([-1], "token id -1 at position 0 is outside the vocabulary"),
    ([[1, 2]], "flat sequence"),
    ([0.5], "must be integers"),
])
def test_bad_input_names_the_problem(bad, message):
    with pytest.raises(InputError, match=message.replace(".", r"\.").replace("(", r"\(")):
        trace(tiny_model(), bad)


def test_text_into_a_task_model_is_refused():
    with pytest.raises(InputError, match="not text"):
        trace(tiny_model(vocab_size=12), "hello")


def test_attention_is_recorded_for_one_layer_and_only_for_short_inputs():
    model = tiny_model(seed=2)
    t = trace(model, LONG[:100], attention_layer=1)
    assert t.attention.shape == (100, 100) and t.attention_layer == 1
    with pytest.raises(InputError, match="attention_layer must be in 0..1"):
        trace(model, LONG[:100], attention_layer=2)
    with pytest.raises(InputError, match="at most 4096 tokens"):
        trace(model, bytes(5000), attention_layer=0)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "model.trace", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_writes_the_trace_as_json(tmp_path, tiny_checkpoint):
    text = tmp_path / "in.txt"
    text.write_text("Humpty Dumpty sat on a wall. " * 5)
    out = tmp_path / "trace.json"
    result = run_cli("--checkpoint", str(tiny_checkpoint), "--text-file", str(text), "--out", str(out),
                     "--device", "auto")
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    n = len(text.read_bytes())
    assert len(data["tokens"]) == n and len(data["spans"]) == data["n_layers"] == 2
    assert len(data["spans"][0]) == len(data["dropped_at"][1]) == len(data["bits"]) == n
    assert data["bits"][0] is None and None not in data["bits"][1:]
    assert {"max_span", "ramp", "block_size", "cache_size"} <= data.keys()
    assert data["meta"]["device"] == "cpu" or data["meta"]["device"].startswith("cuda")


@pytest.mark.parametrize("setup, message", [
    ("empty", "the input is empty"),
    ("no-weights", "no weights file"),
    ("missing-file", "cannot read"),
    ("missing-repo", "not in the local cache"),
])
def test_cli_bad_input_is_one_clear_line(tmp_path, tiny_checkpoint, setup, message):
    text = tmp_path / "in.txt"
    text.write_bytes(b"" if setup == "empty" else b"hello")
    checkpoint = str(tiny_checkpoint)
    if setup == "no-weights":
        checkpoint = str(tmp_path)
    if setup == "missing-file":
        text = tmp_path / "absent.txt"
    if setup == "missing-repo":
        checkpoint = "expire-span-explorer/absent"
    result = run_cli("--checkpoint", checkpoint, "--text-file", str(text), "--out", str(tmp_path / "o.json"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_span_limit_clips_spans_and_memory_at_inference():
    model = tiny_model(seed=2, init_span_fraction=0.5)
    full = trace(model, LONG)
    cut = trace(model, LONG, span_limit=16)
    # layer 0 sees the same inputs either way; later layers see what the cut changed
    np.testing.assert_allclose(cut.spans[0], np.minimum(full.spans[0], 16), rtol=1e-6)
    assert cut.spans.max() <= 16
    assert cut.span_limit == 16 and cut.cache_size.mean() < full.cache_size.mean()
    baseline = tiny_model(seed=2, expire_span=False)
    assert trace(baseline, LONG, span_limit=16).cache_size.max() == 16
    with pytest.raises(InputError, match="span_limit must be in 1..64"):
        trace(model, LONG, span_limit=65)


def test_several_threads_can_trace_on_one_shared_model_at_once():
    """The app traces for many sessions on one model: concurrent traces must equal serial ones."""
    from concurrent.futures import ThreadPoolExecutor
    model = tiny_model(seed=5).eval()
    inputs = [bytes(np.random.default_rng(i).integers(0, 256, 300 + 57 * i).tolist()) for i in range(6)]
    serial = [trace(model, x) for x in inputs]
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(lambda x: trace(model, x), inputs * 2))
    for one, other in zip(serial * 2, parallel):
        for name in ("tokens", "spans", "dropped_at", "cache_size", "predictions"):
            np.testing.assert_array_equal(getattr(one, name), getattr(other, name), err_msg=name)
    assert not model.training


@pytest.mark.parametrize("setup", [
    dict(init_span_fraction=0.25),                       # Expire-Span, memories dropped every few blocks
    dict(init_span_fraction=0.25, span_limit=12),        # spans clipped below L at inference (Figure 9)
    dict(expire_span=False),                             # Transformer-XL: the nearest L
    dict(expire_span=False, span_limit=5),               # nearest 5 < M: the cache is shorter than a block
    dict(init_span_fraction=0.25, attention_layer=1),    # with the attention weights recorded
], ids=["expire-span", "span-limit", "baseline", "baseline-short", "attention"])
def test_passes_of_several_blocks_give_the_trace_of_one_pass_per_block(monkeypatch, setup):
    """The trace runs BLOCKS_PER_PASS blocks of M in one pass of the model (evaluation only); the caches,
    drops and memories seen must be exactly those of one pass per block (method 7), the outputs equal up to
    float rounding."""
    setup = dict(setup)
    span_limit, attention_layer = setup.pop("span_limit", None), setup.pop("attention_layer", None)
    model = tiny_model(seed=7, **setup)
    text = LONG[:203]  # 25 blocks of 8 and 3 bytes: passes end mid-pass too
    traces = {}
    for per_pass in (1, 2, 3):
        monkeypatch.setattr(sys.modules["model.trace"], "BLOCKS_PER_PASS", per_pass)
        traces[per_pass] = trace(model, text, span_limit=span_limit, attention_layer=attention_layer)
    one = traces[1]
    assert (one.dropped_at >= 0).any()  # memories did leave the cache
    for per_pass in (2, 3):
        other = traces[per_pass]
        np.testing.assert_array_equal(other.cache_size, one.cache_size)
        np.testing.assert_array_equal(other.dropped_at, one.dropped_at)
        np.testing.assert_allclose(other.spans, one.spans, rtol=1e-5)
        np.testing.assert_allclose(other.bits, one.bits, rtol=0, atol=2e-5)
        if attention_layer is not None:
            np.testing.assert_allclose(other.attention, one.attention, atol=1e-6)
