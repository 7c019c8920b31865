"""Words over bytes: grouping a trace's bytes into words, per-word spans and drops, colour scales, the
"What each layer kept" content, the default edit of edit-and-compare, and the familiarity note."""
import dataclasses
import html
import re

import numpy as np
import pytest
from support import tiny_model
from support import single_thread  # noqa: F401 (autouse fixture)

from app import familiarity
from app.views import diff, kept, scales, strips, words
from app.views.strips import colours
from model import trace

STORY = "Ilse met Teodor at the pier. Teodor waved; Ilse didn't.  Then   Varnholm!"


def pieces(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    w = words.split_words(np.frombuffer(data, np.uint8))
    return list(zip(w.text, w.kind))


def covers_every_byte_once(w, n: int) -> bool:
    return w.start[0] == 0 and w.stop[-1] == n and np.array_equal(w.start[1:], w.stop[:-1])


def test_words_marks_and_runs_of_spaces():
    got = pieces("Ilse's well-known cat... said: 3.14, 1,351  dogs\n\n")
    assert got == [("Ilse's", "word"), (" ", "space"), ("well-known", "word"), (" ", "space"), ("cat", "word"),
                   ("...", "mark"), (" ", "space"), ("said", "word"), (":", "mark"), (" ", "space"),
                   ("3.14", "word"), (",", "mark"), (" ", "space"), ("1,351", "word"), ("  ", "space"),
                   ("dogs", "word"), ("\n\n", "space")]


def test_words_in_utf8_keep_their_byte_positions():
    text = "Café naïve — Ünïcode 東京 “quoted”"
    w = words.split_words(np.frombuffer(text.encode(), np.uint8))
    assert covers_every_byte_once(w, len(text.encode()))
    assert [t for t, k in zip(w.text, w.kind) if k == "word"] == ["Café", "naïve", "Ünïcode", "東京", "quoted"]
    for a, b, t in zip(w.start, w.stop, w.text):  # every piece's bytes decode to its text
        assert text.encode()[a:b].decode() == t
    assert pieces("e\u0301t\u00e9") == [("e\u0301t\u00e9", "word")]  # a combining accent stays in its word


def test_invalid_utf8_bytes_are_single_marks():
    w = words.split_words(np.frombuffer(b"ab\xff\xfecd \xe6\x9d", np.uint8))
    assert list(zip(w.text, w.kind)) == [("ab", "word"), ("\ufffd", "mark"), ("\ufffd", "mark"), ("cd", "word"),
                                         (" ", "space"), ("\ufffd", "mark"), ("\ufffd", "mark")]
    assert covers_every_byte_once(w, 9)


def test_a_5000_byte_word_is_cut_into_readable_pieces():
    w = words.split_words(np.frombuffer(b"go " + b"x" * 5000 + b" stop", np.uint8))
    long = [k for k in range(len(w)) if w.text[k].startswith("x")]
    assert len(long) == -(-5000 // words.MAX_WORD_BYTES)
    assert all(w.stop[k] - w.start[k] <= words.MAX_WORD_BYTES for k in long)
    assert covers_every_byte_once(w, 5008) and w.text[-1] == "stop"
    multi = words.split_words(np.frombuffer(("é" * 100).encode(), np.uint8))  # never cut inside a character
    assert all(t == "é" * (words.MAX_WORD_BYTES // 2) for t in multi.text[:-1]) and "".join(multi.text) == "é" * 100


@pytest.fixture(scope="module")
def tr():
    return trace(tiny_model(seed=1), STORY)


def test_word_stats_reduce_over_each_words_bytes(tr):
    w = words.split_words(tr.tokens)
    st = words.word_stats(tr, w)
    k = w.text.index("Teodor")
    a, b = w.start[k], w.stop[k]
    for layer in range(tr.n_layers):
        assert st.span[layer, k] == pytest.approx(tr.spans[layer, a:b].max())
        assert st.mean_span[layer, k] == pytest.approx(tr.spans[layer, a:b].mean())
        d = tr.dropped_at[layer, a:b]
        assert st.left_at[layer, k] == (-1 if (d < 0).any() else d.max())
        assert st.kept[layer, k] == max((d[i] if d[i] >= 0 else len(tr.tokens)) - (a + i) for i in range(b - a))
    assert st.bits[k] == pytest.approx(np.nansum(tr.bits[a:b]))
    assert np.isnan(words.word_stats(dataclasses.replace(tr, bits=np.full(len(tr.bits), np.nan)), w).bits).all()


def test_longest_kept_ranks_distinct_words_by_their_longest_occurrence(tr):
    w = words.split_words(tr.tokens)
    st = words.word_stats(tr, w)
    rows = words.longest_kept(w, st, layer=1, n=50)
    names = [r.word for r in rows]
    assert len(names) == len(set(names)) and "." not in names and ";" not in names
    assert [r.span for r in rows] == sorted((r.span for r in rows), reverse=True)
    teodor = next(r for r in rows if r.word == "Teodor")
    both = [k for k in range(len(w)) if w.text[k] == "Teodor"]
    assert teodor.occurrences == 2 and teodor.span == pytest.approx(max(st.span[1, k] for k in both))
    assert len(words.longest_kept(w, st, 0, n=3)) == 3
    flat = st._replace(span=np.ones_like(st.span))  # all equal: each word at its first occurrence, in text order
    ranked = words.longest_kept(w, flat, 0, n=50)
    assert [r.position for r in ranked] == sorted(r.position for r in ranked)
    assert teodor.word in [r.word for r in ranked] and next(
        r for r in ranked if r.word == "Teodor").position == STORY.index("Teodor")


def test_per_layer_scale_spreads_every_layer_that_varies():
    v = np.array([[0.0, 10.0, 1000.0], [2.0, 4.0, 6.0], [5.0, 5.0, 5.0]])
    shared = scales.scale_values(v, "shared")
    assert np.allclose(shared.fraction[1], [0.002, 0.004, 0.006])  # a quiet layer is nearly one colour
    per = scales.scale_values(v, "per layer")
    assert np.allclose(per.fraction[0], [0, 0.01, 1]) and np.allclose(per.fraction[1], [0, 0.5, 1])
    assert np.allclose(per.fraction[2], 0.5) and list(per.lo) == [0, 2, 5] and list(per.hi) == [1000, 6, 5]
    log = scales.scale_values(v, "log")
    assert np.allclose(log.fraction[0], np.log1p([0, 10, 1000]) / np.log1p(1000))
    with pytest.raises(ValueError, match="per layer"):
        scales.scale_values(v, "linear")
    fr, labels = scales.ticks(0, 1351, "log")
    assert labels == ["0", "1", "10", "100", "1,000"] and fr[0] == 0 and fr[-1] < 1
    assert scales.ticks(0, 5000, "log")[1][-1] == "5,000" and scales.ticks(0, 5000, "log")[0][-1] == 1


def test_longest_table_lists_every_layer_and_escapes(tr):
    evil = trace(tiny_model(seed=1), "<script>alert(1)</script> Varnholm <i>Ilse's</i>")
    w = words.split_words(evil.tokens)
    out = kept.longest_table_html(w, words.word_stats(evil, w), n=10)
    assert "<script" not in out and "<i>" not in out and "&lt;" not in out  # marks are not listed as words
    assert "Ilse&#x27;s" in out and "Ilse's" not in out
    assert out.count("<th>layer") == evil.n_layers and "Varnholm" in out and "alert" in out
    for r in words.longest_kept(w, words.word_stats(evil, w), 0, 5):
        assert f"<b>{html.escape(r.word)}</b> {kept.steps(r.span)}" in out


def test_layer_rows_colour_whole_words(tr):
    w = words.split_words(tr.tokens)
    st = words.word_stats(tr, w)
    scaled = scales.scale_values(st.span, "per layer")
    rows = kept.layer_rows(w, st, scaled, 0, len(tr.tokens))
    assert [label.split(" (")[0] for label, _ in rows] == [f"layer {l}" for l in range(tr.n_layers)]
    body = rows[1][1]
    k = w.text.index("Varnholm")
    step = strips.palette_index([scaled.fraction[1, k]], 1.0)[0]
    title = kept.word_titles(w, st, 1)[k]
    assert re.search(rf'<span class="(es-word )?c{step}" title="{re.escape(html.escape(title, quote=True))}">'
                     "Varnholm</span>", body)
    # one span per piece inside one palette strip, and one es-word per run of pieces between spaces (a lone
    # piece is marked itself, a run of several is wrapped): the browser never breaks a word across lines
    kinds = "".join("s" if k == "space" else "x" for k in w.kind)
    runs, several = len(re.findall("x+", kinds)), len(re.findall("xx+", kinds))
    assert body.count("<span") == int((w.kind != "space").sum()) + 1 + several
    assert body.count("es-word") == runs and body.count(strips.WORD_OPEN) == several
    assert np.abs(strips.palette_colours()[step].astype(int) - colours([scaled.fraction[1, k]], 1.0)[0]).max() <= 6
    page = strips.strips_html(rows)
    assert page.count("<style>") == 1 and "style=\"background" not in page
    css = re.search(rf"\.es-strips \.c{step}\{{background:#([0-9a-f]{{6}})", page).group(1)
    assert tuple(bytes.fromhex(css)) == tuple(int(c) for c in strips.palette_colours()[step])


def test_word_titles_are_short_and_name_the_numbers(tr):
    w = words.split_words(tr.tokens)
    st = words.word_stats(tr, w)
    titles = kept.word_titles(w, st, 0)
    k = w.text.index("Teodor")
    assert titles[k] == (f"byte {w.start[k]:,}: span {kept.steps(st.span[0, k])}, kept {st.kept[0, k]:,}, "
                         f"{kept.left_label(int(st.left_at[0, k]), short=True)}, {st.bits[k]:.1f} bits")
    assert set(titles) == set(range(len(w))) and max(len(t) for t in titles.values()) < 70
    assert set(kept.word_titles(w, st, 0, start=10, stop=20)) == {v for v in range(len(w)) if 10 <= w.start[v] < 20}


def test_how_to_read_uses_this_texts_numbers(tr):
    note = kept.how_to_read(tr)
    for layer, m in enumerate(np.median(tr.spans, axis=1)):
        assert f"layer {layer} {kept.steps(m)}" in note
    assert f"{tr.ramp} steps" in note and f"every {tr.block_size} bytes" in note
    quiet = dataclasses.replace(tr, spans=np.stack([tr.spans[0] * 0 + 3, tr.spans[1] * 0 + 300]))
    assert "layer 0 keeps almost nothing" in kept.how_to_read(quiet) and "per layer" in kept.how_to_read(quiet)


def test_word_rises_name_the_word_and_its_last_mention(tr):
    w = words.split_words(tr.tokens)
    second = [k for k in range(len(w)) if w.text[k] == "Teodor"][1]
    bump = np.zeros(len(tr.bits), np.float32)
    bump[w.start[second] + 1] = 2.5  # the second Teodor's second byte costs 2.5 bits more
    bump[w.start[w.text.index("pier")]] = 0.01  # under the noise floor: left out
    cut = dataclasses.replace(tr, bits=tr.bits + bump, span_limit=16)
    rows = kept.word_rises(tr, cut, w)
    assert [r["word"] for r in rows] == ["Teodor"] and rows[0]["extra bits"] == 2.5
    assert rows[0]["last seen"] == f"{w.start[second] - STORY.index('Teodor'):,} bytes before"
    assert kept.word_rises(tr, tr, w) == []


def test_where_memory_mattered_parts_returning_words_from_first_mentions(tr):
    """docs/method.md 16.5: the effect first; returning words apart; no first mentions when memory did not pay."""
    w = words.split_words(tr.tokens)
    second = [k for k in range(len(w)) if w.text[k] == "Teodor"][1]
    bump = np.zeros(len(tr.bits), np.float32)
    bump[w.start[second] + 1] = 2.5   # a returning name lost
    bump[w.start[w.text.index("pier")] + 1] = 1.5  # a first mention lost
    paid = dataclasses.replace(tr, bits=tr.bits + bump, span_limit=16)
    returning, first = kept.split_rises(tr, paid, w)
    assert [r["word"] for r in returning] == ["Teodor"] and [r["word"] for r in first] == ["pier"]
    sentence = kept.effect_sentence(tr, paid)
    assert sentence.startswith("The long memory paid on this text") and "with 16" in sentence
    assert f"{np.nanmean(tr.bits):.3f} bits per byte with all {tr.max_span:,} steps" in sentence
    helped = bump.copy()
    helped[w.start[w.text.index("Varnholm")] + 1] = -10  # the cut helped more than it hurt elsewhere
    unpaid = dataclasses.replace(tr, bits=tr.bits + helped, span_limit=16)
    returning, first = kept.split_rises(tr, unpaid, w)
    assert [r["word"] for r in returning] == ["Teodor"] and first == []
    assert kept.effect_sentence(tr, unpaid).startswith("The long memory did not pay on this text")
    assert kept.effect_sentence(tr, dataclasses.replace(tr, span_limit=16)).startswith("The long memory did not")


def test_default_edit_replaces_the_longest_kept_name(tr):
    w = words.split_words(tr.tokens)
    st = words.word_stats(tr, w)
    edited, word = diff.default_edit(STORY, w, st)
    assert word in {"Ilse", "Teodor", "Then", "Varnholm"} and word not in edited.split()
    assert edited == re.sub(rf"\b{word}\b", diff.COMMON_WORD, STORY)
    best = max((k for k in range(len(w)) if w.text[k] in {"Ilse", "Teodor", "Then", "Varnholm"}),
               key=lambda k: st.span[:, k].max())
    assert word == w.text[best]
    assert diff.default_edit(". ,", *(lambda x: (x, words.word_stats(trace(tiny_model(seed=1), ". ,"), x)))(
        words.split_words(np.frombuffer(b". ,", np.uint8)))) is None


def test_familiarity_from_the_model_card():
    card = "# m\n\n## Results (held-out data)\n\n- bits: 1.7606\n- error: 0.37\n"
    assert familiarity.held_out_bits_from_card(card) == pytest.approx(1.7606)
    assert familiarity.held_out_bits_from_card("# no results\n- bits: 3") is None
    assert familiarity.held_out_bits_from_card(None) is None
    assert familiarity.familiarity(2.3, 1.76).level == familiarity.FAMILIAR
    assert familiarity.familiarity(3.2, 1.76).level == familiarity.HARDER
    far = familiarity.familiarity(4.8, 1.76)
    assert far.level == familiarity.FOREIGN and "4.80" in far.message and "1.76" in far.message


def test_rises_table_reads_as_a_person_reads_it_and_escapes_the_words():
    rows = [{"word": "<b>Teodor</b>", "at byte": 12345, "extra bits": 2.5, "last seen": "1,000 bytes before"}]
    body = kept.rises_table_html(rows, kept.RISE_COLUMNS, font_size=20)
    assert "<b>Teodor" not in body and "&lt;b&gt;Teodor&lt;/b&gt;" in body
    assert "<th>word</th><th>extra bits</th><th>last seen</th><th>at byte</th>" in body
    assert "<td>2.50</td><td>1,000 bytes before</td><td>12,345</td>" in body and "font-size:20px" in body
    assert kept.rises_table_html(rows).count("<th>") == 4  # every column by default
