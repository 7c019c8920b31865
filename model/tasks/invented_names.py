"""Invented names: text in which only memory can predict the names (docs/method.md section 16).

A model cannot know the letters of a name nobody used before; when such a name returns, the only way to
predict it is to copy it from an earlier mention. Two kinds of text give copying its gradient:

- `replace_names(doc)`: a document whose names are replaced, consistently within it, by invented ones.
  A *name* here is a capitalised word of 4+ letters (`NAME`) that never occurs lowercased in the corpus
  (so "The" or "Lord" stay) and occurs at least twice in the document.
- `repeat_document()`: a list of 8-30 invented names, a stretch of natural text of 0-2,000 bytes, then the
  same list again (the verbatim repeat that teaches a copy mechanism), then a little natural text.

`NameMaker` draws names from random syllables (or, with `style="varied"`, from three schemes that letter statistics
predict less and less: syllables, freer syllables, random letters) and never returns a word of the corpus.
"""
import re

import numpy as np

NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")
ONSETS = ("b br bl c ch cl cr d dr f fr g gr gl h j k kl kr l m n p pr pl qu r s sh sk st sl t th tr v w wr z "
          "b d f g h k l m n p r s t v").split()
VOWELS = "a e i o u a e i o ai ea ou y ae".split()
CODAS = [""] * 6 + "n r l s th m nd rk st x ck rn lv sk".split()
REPEAT_GAPS = (0, 50, 200, 600, 1200, 2000)
# style "varied": syllables with an optional onset and wider clusters, or random letters (docs/method.md 16.7)
FREE_ONSETS = [""] * 4 + ONSETS + "gn ph wh x sc scr squ spr str thr dw tw sw gw zh".split()
FREE_VOWELS = VOWELS + "ee oo ei ie ia io ue".split()
FREE_CODAS = CODAS + "ck ft ld lk mb mp nt nx pt rd rg rm rv sp ss ts tz ll zz".split()
LETTERS = "abcdefghijklmnopqrstuvwxyz"
STYLES = ("syllables", "varied")


class NameMaker:
    """Invented names of 4-10 letters, none of them a word of `known` (lowercased), none drawn twice.

    style "syllables": 2-3 syllables of onset, vowel and coda. "varied": a third each of those, of freer
    syllables (optional onset, wider clusters) and of random letters, so that no letter model predicts a name
    and only a copy from memory does."""

    def __init__(self, rng: np.random.Generator, known: set[str], style: str = "syllables"):
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, not {style!r}")
        self.rng, self.known, self.style, self.used = rng, known, style, set()

    def _syllables(self, onsets, vowels, codas) -> str:
        pick = self.rng.choice
        return "".join(pick(onsets) + pick(vowels) + pick(codas) for _ in range(int(self.rng.integers(2, 4))))

    def _draw(self) -> str:
        scheme = int(self.rng.integers(3)) if self.style == "varied" else 0
        if scheme == 0:
            return self._syllables(ONSETS, VOWELS, CODAS)
        if scheme == 1:
            return self._syllables(FREE_ONSETS, FREE_VOWELS, FREE_CODAS)
        return "".join(self.rng.choice(list(LETTERS), int(self.rng.integers(4, 11))))

    def __call__(self) -> str:
        while True:
            word = self._draw()
            if 4 <= len(word) <= 10 and word not in self.known and word not in self.used:
                self.used.add(word)
                return word.capitalize()


def lowercase_words(text: str) -> set[str]:
    """Every lowercase word of a text (what a capitalised word must never be to count as a name)."""
    return set(re.findall(r"\b[a-z]+\b", text))


def names_in(doc: str, lowercase: set[str], min_count: int = 2) -> list[str]:
    """The names of a document: capitalised words (NAME) never seen lowercased, at least min_count times."""
    counts = {}
    for m in NAME.finditer(doc):
        word = m.group()
        if word.lower() not in lowercase:
            counts[word] = counts.get(word, 0) + 1
    return [w for w, c in counts.items() if c >= min_count]


def replace_names(doc: str, lowercase: set[str], make: NameMaker) -> str:
    """The document with each of its names replaced, everywhere in it, by one invented name."""
    mapping = {name: make() for name in names_in(doc, lowercase)}
    if not mapping:
        return doc
    return NAME.sub(lambda m: mapping.get(m.group(), m.group()), doc)


def repeat_document(rng: np.random.Generator, make: NameMaker, filler: str) -> str:
    """A list of invented names, natural text of a drawn gap, the same list again, a little more text.

    `filler` is natural text (at least 2,300 bytes); the gap and the tail are cut from it at word edges."""
    cast = [make() for _ in range(int(rng.integers(3, 9)))]
    listed = " ".join(rng.choice(cast) for _ in range(int(rng.integers(8, 31))))
    gap = int(rng.choice(REPEAT_GAPS))
    between = _cut(filler, 0, gap)
    tail = _cut(filler, len(between), int(rng.integers(100, 300)))
    return f"{listed}\n{between}\n{listed}\n{tail}".replace("\n\n\n", "\n\n")


def _cut(text: str, start: int, length: int) -> str:
    """About `length` characters of text from `start`, ending at a space."""
    if length == 0:
        return ""
    piece = text[start:start + length]
    end = piece.rfind(" ")
    return (piece[:end] if end > 0 else piece).strip()
