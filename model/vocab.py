"""The byte vocabulary of a checkpoint converted from the authors' Expire-Span code (docs/method.md 13.3):
`vocab.json` beside the weights, rebuilt from the training data's train.txt by model/convert_official.py, read
strictly by model/hub.py and attached to the model as `model.byte_vocab`."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CheckpointError, InputError
from .jsonfile import read_small_json

VOCAB_FILE = "vocab.json"
EOS, UNK = "<eos>", "<unk>"


def build_vocab(train_txt: Path) -> list[str]:
    """The official byte vocabulary (13.3): tokens of train.txt (bytes written as integers), one <eos> per line,
    ranked by count; ties in the official order (a stable ascending sort by count, reversed); <unk> last."""
    counts: dict[str, int] = {}
    try:
        with open(train_txt, encoding="utf-8") as f:
            for line in f:
                for word in line.split() + [EOS]:
                    counts[word] = counts.get(word, 0) + 1
    except UnicodeDecodeError as e:
        raise InputError(f"{train_txt} is not UTF-8 text (byte {e.start:,} of a line cannot be decoded): expected "
                         "bytes written as integers 0..255") from None
    ranked = [word for word, _ in reversed(sorted(counts.items(), key=lambda kv: kv[1]))]
    return ranked + ([UNK] if UNK not in counts else [])


def encode_bytes(data: bytes, vocab: dict) -> list[int]:
    """Bytes -> ids through a converted model's vocab.json content: line ends become <eos> with --data-eos and
    are dropped without it (13.3); a byte the vocabulary lacks becomes <unk>."""
    return ByteVocab(tuple(vocab["tokens"]), bool(vocab["data_eos"])).encode(data).tolist()


MAX_VOCAB_BYTES = 64 << 10  # a vocab.json of 258 tokens is a few KB
VOCAB_FORMAT = "official-bytes"
NEWLINE = 10


@dataclass(frozen=True)
class ByteVocab:
    """A converted model's byte vocabulary (vocab.json, 13.3): token id -> a byte written as its decimal value,
    `<eos>` or `<unk>`; `data_eos`: a line end is the `<eos>` token (True) or dropped from the input (False).
    `from_json` validates strictly; a model loaded with one carries it as `model.byte_vocab`."""
    tokens: tuple[str, ...]
    data_eos: bool

    @classmethod
    def from_json(cls, values, label: str = VOCAB_FILE) -> "ByteVocab":
        """vocab.json's content, checked: every problem is one CheckpointError naming it."""
        if not isinstance(values, dict):
            raise CheckpointError(f"{label} must hold a JSON object")
        keys, wanted = set(values), {"format", "tokens", "data_eos"}
        if keys != wanted:
            missing, extra = sorted(wanted - keys), sorted(str(k) for k in keys - wanted)
            raise CheckpointError(f"{label} must hold exactly format, tokens and data_eos"
                                  + (f"; it lacks {', '.join(missing)}" if missing else "")
                                  + (f"; unknown key(s) {', '.join(k[:40] for k in extra[:4])}" if extra else ""))
        if values["format"] != VOCAB_FORMAT:
            raise CheckpointError(f"{label}: format must be {VOCAB_FORMAT!r} (got {str(values['format'])[:40]!r})")
        if not isinstance(values["data_eos"], bool):
            raise CheckpointError(f"{label}: data_eos must be true or false")
        tokens = values["tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise CheckpointError(f"{label}: tokens must be a list of strings")
        for i, t in enumerate(tokens):
            if t not in (EOS, UNK) and not is_byte_token(t):
                raise CheckpointError(f"{label}: token {i} is {t[:20]!r}; expected a byte written as an integer "
                                      f"0..255, {EOS} or {UNK}")
        if len(set(tokens)) != len(tokens):
            dup = next(t for i, t in enumerate(tokens) if t in tokens[:i])
            raise CheckpointError(f"{label}: token {dup!r} appears more than once")
        for needed in (EOS, UNK):
            if needed not in tokens:
                raise CheckpointError(f"{label}: the tokens lack {needed}")
        return cls(tuple(tokens), values["data_eos"])

    def to_json(self) -> dict:
        return {"format": VOCAB_FORMAT, "tokens": list(self.tokens), "data_eos": self.data_eos}

    @property
    def ids(self) -> np.ndarray:
        """256: the token id of every byte value (<unk> for a byte the vocabulary lacks, <eos> for a line end
        with data_eos, -1 for a line end without it: dropped)."""
        table = np.full(256, self.tokens.index(UNK), np.int64)
        for i, t in enumerate(self.tokens):
            if t not in (EOS, UNK):
                table[int(t)] = i
        table[NEWLINE] = self.tokens.index(EOS) if self.data_eos else -1
        return table

    @property
    def byte_of(self) -> np.ndarray:
        """len(tokens): the byte each token id stands for (<eos>: a line end, 10; <unk>: -1)."""
        return np.array([NEWLINE if t == EOS else -1 if t == UNK else int(t) for t in self.tokens], np.int64)

    def encode(self, data: bytes) -> np.ndarray:
        """Bytes -> int64 ids (13.3): line ends are <eos> with data_eos and dropped without it; bytes the
        vocabulary lacks are <unk>. Cutting the bytes anywhere and encoding the pieces gives the same ids."""
        ids = self.ids[np.frombuffer(bytes(data), dtype=np.uint8)]
        return ids[ids >= 0]

    def unknown_bytes(self, data: bytes) -> int:
        """How many of these bytes the vocabulary lacks (read as <unk>); line ends never count."""
        raw = np.frombuffer(bytes(data), dtype=np.uint8)
        return int(((self.ids[raw] == self.tokens.index(UNK)) & (raw != NEWLINE)).sum())


def is_byte_token(word: str) -> bool:
    """A byte written as the official data writes it: ASCII digits 0..255, no sign, no leading zero ('²' and
    '٤٦' pass str.isdigit() but not this)."""
    return 0 < len(word) <= 3 and word.isascii() and word.isdigit() and str(int(word)) == word and int(word) < 256


def read_vocab(path: Path, label: str, vocab_size: int) -> ByteVocab:
    """A checkpoint's vocab.json, size-capped and strictly checked (JSON only, never a pickle); its tokens must
    be the model's vocabulary, one for one."""
    name = f"{label}/{VOCAB_FILE}"
    values = read_small_json(path, name, MAX_VOCAB_BYTES, "byte vocabulary")
    vocab = ByteVocab.from_json(values, name)
    if len(vocab.tokens) != vocab_size:
        raise CheckpointError(f"{name} has {len(vocab.tokens)} tokens, config.json's vocab_size is {vocab_size}: "
                              "they must match")
    return vocab
