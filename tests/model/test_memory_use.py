"""docs/method.md section 16: invented names, the copy corpus and the measures of memory use."""
import json
import re

import numpy as np
import pytest
from support import tiny_model

from model.memory_use import (MIN_BACK, Mention, block_bootstrap, measure_text, returning_names, tail_bits,
                              training_words, written_texts)
from model.tasks import copy_corpus
from model.tasks.invented_names import NAME, NameMaker, names_in, repeat_document, replace_names
from model.tasks.text_corpus import DOC_SEP

FILLER = " ".join(["the quiet river ran past the old mill and the long road"] * 60)


def test_a_returning_name_is_unknown_to_training_and_returns_at_least_256_bytes_later():
    text = b"Quenneth met Alice. " + b". " * 150 + b"Quenneth and Alice left. Quenneth smiled."
    mentions = returning_names(text, frozenset({b"Alice"}))
    assert [(m.name, m.start, m.back) for m in mentions] == [("Quenneth", 320, 320)]  # the third is 26 bytes on
    assert returning_names(text, frozenset({b"Alice", b"Quenneth"})) == []
    short = b"Quenneth " + b"y" * (MIN_BACK - 20) + b" Quenneth"
    assert returning_names(short, frozenset()) == []


def test_name_tail_bits_pool_the_letters_after_the_first():
    bits = np.arange(20, dtype=float)
    mentions = [Mention("Abcd", 2, 6, 300), Mention("Efghij", 10, 16, 400)]
    assert tail_bits(bits, mentions) == pytest.approx(np.mean([3, 4, 5, 11, 12, 13, 14, 15]))
    assert tail_bits(bits, []) is None


def test_training_words_are_every_word_of_the_files(tmp_path):
    (tmp_path / "train.txt").write_bytes(b"The Quenneth of 1999, and more-ish")
    assert training_words([tmp_path / "train.txt"]) == {b"The", b"Quenneth", b"of", b"and", b"more", b"ish"}


def test_invented_names_are_new_distinct_names():
    make = NameMaker(np.random.default_rng(0), {"bakor", "tifesa"})
    names = [make() for _ in range(500)]
    assert len(set(names)) == 500
    assert all(NAME.fullmatch(n) and 4 <= len(n) <= 10 for n in names)
    assert not {"Bakor", "Tifesa"} & set(names)


def _longest_consonant_run(names) -> int:
    return max(len(r) for n in names for r in re.findall(r"[^aeiouy]+", n.lower()))


def test_varied_names_reach_what_syllables_never_make():
    """docs/method.md 16.7: varied names stay names (4-10 letters, new, distinct) but include letter runs that the
    syllables of 16.3 never make, so letter statistics learnt from those cannot predict them."""
    varied = NameMaker(np.random.default_rng(0), {"bakor"}, style="varied")
    names = [varied() for _ in range(600)]
    assert len(set(names)) == 600 and all(NAME.fullmatch(n) and 4 <= len(n) <= 10 for n in names)
    syllables = NameMaker(np.random.default_rng(0), set())
    assert _longest_consonant_run(syllables() for _ in range(600)) <= 4
    assert _longest_consonant_run(names) >= 6
    with pytest.raises(ValueError, match="style"):
        NameMaker(np.random.default_rng(0), set(), style="random")


def test_names_are_replaced_consistently_and_only_names():
    doc = "Marlowe came to Paris. The Duke saw Marlowe. Marlowe left Paris; Hamlet stayed. The duke slept."
    lowercase = {"the", "duke", "came", "to", "saw", "left", "stayed", "slept"}
    assert sorted(names_in(doc, lowercase)) == ["Marlowe", "Paris"]  # Hamlet once, Duke is a word
    out = replace_names(doc, lowercase, NameMaker(np.random.default_rng(1), lowercase))
    new = re.findall(r"\b[A-Z][a-z]{3,}\b", out)
    assert "Marlowe" not in out and "Paris" not in out and "Hamlet" in out and "The Duke" in out
    first, second = new[0], new[1]  # Marlowe's and Paris's replacements, used everywhere they were
    assert out.count(first) == 3 and out.count(second) == 2 and first != second


def test_a_repeat_document_holds_one_list_twice_with_text_between():
    rng = np.random.default_rng(3)
    for _ in range(20):
        doc = repeat_document(rng, NameMaker(rng, set()), FILLER)
        lines = doc.split("\n")
        listed = lines[0]
        assert 8 <= len(listed.split()) <= 30 and all(NAME.fullmatch(w) for w in listed.split())
        assert doc.count(listed) == 2
        gap = doc.index(listed, 1) - len(listed) - 1
        assert 0 <= gap <= 2001


def test_the_copy_corpus_keeps_held_out_files_and_adds_the_names_split(tmp_path):
    src, out = tmp_path / "corpus", tmp_path / "copy"
    src.mkdir()
    story = ("Tom Quillan walked to Brenmoor. " + FILLER[:3500] + " Quillan rested at Brenmoor.")
    (src / "train.txt").write_text(DOC_SEP.join([story] * 20 + ["the end of tom"]), encoding="utf-8")
    (src / "valid.txt").write_text("Quillan valid", encoding="utf-8")
    (src / "test.txt").write_text("held out", encoding="utf-8")
    (src / "test-wiki.txt").write_text("Zorvik and Zorvik again, Zorvik.", encoding="utf-8")
    (src / "summary.json").write_text(json.dumps({"sources": {"wiki": {}}}))
    summary = copy_corpus.build(src, out, seed=0, replaced=1.0, repeats=0.4)["copy"]
    assert (out / "valid.txt").read_text() == "Quillan valid" and (out / "test.txt").read_text() == "held out"
    train = (out / "train.txt").read_text(encoding="utf-8")
    assert "Quillan" not in train and "Brenmoor" not in train and "Tom" in train  # Tom: 3 letters
    assert summary["repeat_documents"] > 0 and 0.3 < summary["repeat_share_of_bytes"] < 0.5
    names = (out / "test-names.txt").read_text(encoding="utf-8")
    assert "Zorvik" not in names and len(set(re.findall(r"[A-Z][a-z]+", names))) == 1
    with pytest.raises(FileNotFoundError):
        copy_corpus.build(tmp_path / "nowhere", out)
    varied = copy_corpus.build(src, tmp_path / "varied", seed=0, replaced=1.0, repeats=0.4, names="varied")["copy"]
    assert summary["names"] == "syllables" and varied["names"] == "varied"
    assert (tmp_path / "varied" / "train.txt").read_text(encoding="utf-8") != train


def test_measure_text_on_a_model():
    model = tiny_model()
    text = ("Quenneth opened the door. " + "a b c d e f g " * 30 + "Then Quenneth left.").encode()
    r = measure_text(model, text, frozenset(), far=100)
    assert r["returning_names"] == 1 and r["far_names"] == 1
    assert r["name_tail_bits"] > 0 and r["name_tail_bits_span64"] > 0
    assert r["net_rise_quarter_L"] == pytest.approx(r["bits_quarter_L"] - r["bits"], abs=1e-5)


def test_block_bootstrap_skips_resamples_without_both_kinds():
    rise, long = np.zeros(4096), np.zeros(4096, bool)
    long[:10] = True
    assert block_bootstrap(rise, long, resamples=50) == [0.0, 0.0]


def test_the_written_texts_are_what_the_measures_need():
    """Six texts of 1,500-10,000 bytes; each has at least five invented names that return, three of them more
    than 640 bytes after their previous mention (names: those measured unknown to the training split)."""
    texts = written_texts()
    assert len(texts) >= 6
    stored = json.loads(open("checkpoints/results.json").read())["text"]["memory_use"]["written_text_names"]
    for name, text in texts.items():
        assert 1500 <= len(text) <= 10_000, name
        invented = {n.encode() for n in stored[name]}
        known = frozenset(set(re.findall(rb"[A-Za-z]+", text)) - invented)
        mentions = returning_names(text, known)
        assert len({m.name for m in mentions}) >= 5, name
        assert len({m.name for m in mentions if m.back > 640}) >= 3, name
