"""The text figures of `model.evaluate`: which bytes need long context (paper Figure 9, method section 10), and
the interval that says whether their loss rises more than the others' when L is cut."""
import numpy as np

from support import tiny_model
from model.evaluate import block_bootstrap, needs_long_context, text_figures


def text_with_repeat(gap: int, word: bytes = b"coast") -> tuple[bytes, int]:
    """`word`, `gap` bytes of filler without long words, the word again; returns the text and the repeat's start."""
    filler = (b" at it on" * (gap // 9 + 1))[: gap - len(word) - 1] + b" "
    text = word + filler + word + b" to"
    return text, len(word) + len(filler)


def test_a_word_last_seen_between_near_and_far_needs_long_context():
    text, at = text_with_repeat(700)
    needs = needs_long_context(text, near=512, far=2048)
    assert not needs[at], "the first letter is not predictable from the earlier word"
    assert needs[at + 1:at + 5].all()
    assert needs.sum() == 4


def test_near_far_and_short_repeats_do_not():
    for gap in (100, 3000):
        text, _ = text_with_repeat(gap)
        assert not needs_long_context(text, near=512, far=2048).any(), gap
    text, _ = text_with_repeat(700, word=b"sea")  # under four letters
    assert not needs_long_context(text, near=512, far=2048).any()


def test_block_bootstrap_interval_excludes_zero_only_for_a_real_difference():
    rng = np.random.default_rng(1)
    long = rng.random(64 * 1024) < 0.05
    noise = rng.normal(0, 0.1, long.size)
    low, high = block_bootstrap(noise + 0.5 * long, long, resamples=200)
    assert 0.4 < low < 0.5 < high < 0.6
    low, high = block_bootstrap(noise, long, resamples=200)
    assert low < 0 < high
    assert block_bootstrap(noise[:1000], long[:1000]) is None, "one block cannot be resampled"


def test_block_bootstrap_counts_every_byte_up_to_a_short_last_block():
    """A text of 2.5 blocks whose long-context bytes all sit in its last, short block: they count."""
    rng = np.random.default_rng(2)
    rise, long = rng.normal(0, 0.1, 2548), np.zeros(2548, bool)
    long[-400:] = True
    rise[long] += 1.0
    low, high = block_bootstrap(rise, long, resamples=200)
    assert 0.9 < low <= rise[long].mean() - rise[~long].mean() <= high < 1.1


def test_text_figures_on_a_small_corpus(tmp_path):
    model = tiny_model()
    L = model.config.max_span
    text, _ = text_with_repeat(L // 2)
    (tmp_path / "test.txt").write_bytes(text * 60)
    fig = text_figures(model, {"corpus": str(tmp_path)})
    assert fig["fig9_bytes"] == 60 * len(text) and fig["fig9_limit"] == L // 4
    assert len(fig["span_p50"]) == model.config.n_layers
    assert 0 < fig["fig9_long_context_share_of_bytes"] < 1
    low, high = fig["fig9_long_context_minus_other_ci95"]
    assert low <= high
