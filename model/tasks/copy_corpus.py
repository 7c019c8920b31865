"""The copy corpus: the text corpus with invented names and verbatim repeats (docs/method.md section 16).

    python -m model.data build-copy-corpus [--source data/corpus] [--out data/corpus-copy]

Built from a text corpus (model/tasks/text_corpus.py) into another folder, with the same files plus one:
- train.txt: the training documents, a share of them (`replaced`) with their names replaced by invented ones,
  mixed with repeat documents (`repeats`, a share of the bytes), shuffled.
- valid.txt and every test*.txt: copied unchanged, so scores compare with models trained on the source.
- test-names.txt: the *names* split: every held-out document of every source (test-SOURCE.txt) with its names
  replaced by invented ones, consistently within the document.
- summary.json: the source corpus's summary with `copy` (how this one was made) added.
"""
import json
import shutil
from pathlib import Path

import numpy as np

from .invented_names import NameMaker, lowercase_words, repeat_document, replace_names
from .text_corpus import DOC_SEP


def _documents(path: Path) -> list[str]:
    return [d for d in path.read_text(encoding="utf-8").split(DOC_SEP) if d.strip()]


def build(source, out, seed: int = 0, replaced: float = 0.6, repeats: float = 0.4, names: str = "syllables") -> dict:
    """Write the copy corpus into `out` from the corpus in `source`; returns its summary. `names`: the
    NameMaker style of every invented name (training documents, repeats and the names split alike)."""
    source, out = Path(source), Path(out)
    if not (source / "train.txt").is_file():
        raise FileNotFoundError(f"{source / 'train.txt'} is missing: run `python -m model.data build-corpus` first")
    if not (0 <= replaced <= 1 and 0 <= repeats < 1):
        raise ValueError("replaced must lie in [0, 1] and repeats in [0, 1)")
    rng = np.random.default_rng(seed)
    train = _documents(source / "train.txt")
    lowercase = lowercase_words(DOC_SEP.join(train))
    make = NameMaker(rng, lowercase, style=names)
    natural = [replace_names(d, lowercase, make) if rng.random() < replaced else d for d in train]
    natural_bytes = sum(len(d.encode()) for d in natural)
    long_docs = [d for d in natural if len(d) > 3000]
    synthetic, synthetic_bytes = [], 0
    while synthetic_bytes < repeats / (1 - repeats) * natural_bytes:
        filler = long_docs[int(rng.integers(len(long_docs)))]
        start = filler.find(" ", int(rng.integers(0, len(filler) - 2600))) + 1
        doc = repeat_document(rng, make, filler[start:start + 2500])
        synthetic.append(doc)
        synthetic_bytes += len(doc.encode())
    docs = natural + synthetic
    order = rng.permutation(len(docs))
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text(DOC_SEP.join(docs[i] for i in order), encoding="utf-8")
    summary = json.loads((source / "summary.json").read_text())
    held_out = []
    for path in sorted(source.glob("*.txt")):
        if path.name != "train.txt":
            shutil.copyfile(path, out / path.name)
    for name in summary.get("sources", {}):
        held_out += _documents(source / f"test-{name}.txt")
    names_split = [replace_names(d, lowercase, make) for d in held_out]
    (out / "test-names.txt").write_text(DOC_SEP.join(names_split), encoding="utf-8")
    summary["copy"] = {"source": str(source), "seed": seed, "names": names, "replaced_share_of_documents": replaced,
                       "repeat_share_of_bytes": round(synthetic_bytes / (synthetic_bytes + natural_bytes), 3),
                       "natural_documents": len(natural), "repeat_documents": len(synthetic),
                       "names_split_documents": len(names_split)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
