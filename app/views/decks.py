"""Slides and decks: what a presenter steps through.

A slide is one view of the app: its page, checkpoint, every control of that view (by stable names), and
optionally the slide's own text (pasted or uploaded) and a speaker note. A deck is a versioned JSON file of
slides with a title. The URL carries slides too (`?bm=...&at=i`), but never their text: a link to a slide made
on pasted text says so when it opens.

Deck file, version 1:
    {"format": "expire-span-deck", "version": 1, "title": "...",
     "slides": [{"page": "text", "checkpoint": "text", "controls": {"view": "kept", "layer": 3, ...},
                 "text": "optional, up to 50,000 bytes", "note": "optional speaker note"}]}
"""
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from model.errors import InputError
from model.files import read_small
from model.trace import MAX_ATTENTION_TOKENS

from ..settings import (CORRIDOR_TASK, MAX_DECK_BYTES, MAX_DECK_TEXT_BYTES, MAX_FRAME, MAX_LAYERS, MAX_NOTE_CHARS,
                        MAX_SEED, MAX_SLIDES, MAX_TITLE_CHARS, OBJECTS_MAX_FRAMES, OBJECTS_MIN_FRAMES, QUOTE_CHARS)
from .examples import EXAMPLES
from .scales import SCALES
from .text_view_ids import LEGACY_VIEWS, STRIP_MODES, VIEW_IDS  # the Text page's views (decks name them by id)

FORMAT, VERSION = "expire-span-deck", 1
PAGES = ("text", "teaching", "compare", "objects", "about", "policies")
MAX_TEXT_BYTES = MAX_DECK_TEXT_BYTES



class DeckError(InputError):
    """A deck or slide that fails validation; the message names the field and quotes at most QUOTE_CHARS of the
    file's value (the page escapes it: app/guard.py)."""


def quoted(value, limit: int = QUOTE_CHARS) -> str:
    """A value taken from a file or a link, for a message: a number as it is, anything else quoted, cut to limit."""
    if isinstance(value, (bool, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "..."
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


class Control(NamedTuple):
    """A control a slide records: its session-state key, short code in links, and allowed values."""
    key: str
    code: str
    options: tuple | None = None  # choices (links store the index: append, never reorder)
    lo: int = 0                   # whole numbers: the range
    hi: int = 0


CONTROLS = [
    Control("example", "ex", tuple(EXAMPLES)), Control("view", "v", tuple(VIEW_IDS)),
    Control("layer", "l", lo=0, hi=MAX_LAYERS), Control("step", "st", lo=1, hi=MAX_TEXT_BYTES),
    Control("scale", "sc", tuple(SCALES)), Control("strip_mode", "sm", tuple(STRIP_MODES)),
    Control("heat_value", "hv", ("predicted", "kept")), Control("window", "w", lo=0, hi=MAX_TEXT_BYTES),
    Control("life_start", "ls", lo=0, hi=MAX_TEXT_BYTES), Control("att_step", "at", lo=1, hi=MAX_ATTENTION_TOKENS),
    # the ranges of the controls themselves (a value they refuse would stop the page): the corridor page's
    # slider (CORRIDOR_TASK) and the object page's frames and seeds (app/settings.py)
    Control("corridor_length", "cl", lo=1, hi=CORRIDOR_TASK["max_length"]),
    Control("corridor_seed", "cs", lo=0, hi=MAX_SEED),
    Control("objects_frames", "of", lo=OBJECTS_MIN_FRAMES, hi=OBJECTS_MAX_FRAMES),
    Control("objects_seed", "os", lo=0, hi=MAX_SEED),
    Control("frame", "fr", lo=0, hi=MAX_FRAME),
    Control("cmp_mode", "cm", ("Two layers", "Two checkpoints", "Expire-Span against its Transformer-XL baseline")),
    Control("cmp_example", "ce", tuple(EXAMPLES)), Control("cmp_layer_a", "ca", lo=0, hi=MAX_LAYERS),
    Control("cmp_layer_b", "cb", lo=0, hi=MAX_LAYERS), Control("cmp_scale", "csc", tuple(SCALES)),
    # the Text page's "Forget a word": the word by its first byte, never its text; the layer, -1 for every layer
    Control("forget_at", "fa", lo=0, hi=MAX_TEXT_BYTES), Control("forget_layer", "fl", lo=-1, hi=MAX_LAYERS),
]
BY_KEY = {c.key: c for c in CONTROLS}
BY_CODE = {c.code: c for c in CONTROLS}
PAGE_CONTROLS = {
    "text": ["example", "view", "layer", "step", "scale", "strip_mode", "heat_value", "window", "life_start",
             "att_step", "forget_at", "forget_layer"],
    "teaching": ["corridor_length", "corridor_seed"],
    "objects": ["objects_frames", "objects_seed", "frame"],
    "compare": ["cmp_mode", "cmp_example", "cmp_layer_a", "cmp_layer_b", "cmp_scale"],
    "about": [],
    "policies": [],
}


@dataclass(frozen=True)
class Slide:
    page: str = "text"
    controls: dict = field(default_factory=dict)  # control key -> value (views by id)
    checkpoint: str | None = None
    text: str | None = None   # the slide's own text (pasted or uploaded); None: an example or no text
    note: str = ""
    own_text: bool = False    # made on text of its own that this slide (from a link) does not carry

    def to_dict(self) -> dict:
        out = {"page": self.page, "controls": dict(self.controls)}
        if self.checkpoint:
            out["checkpoint"] = self.checkpoint
        if self.text is not None:
            out["text"] = self.text
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Deck:
    title: str = "My talk"
    slides: tuple = ()

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": VERSION, "title": self.title,
                           "slides": [s.to_dict() for s in self.slides]}, ensure_ascii=False, indent=1)


def check_control(key: str, value, where: str):
    """A control's value if it is allowed, else DeckError naming `where`."""
    c = BY_KEY.get(key)
    if c is None:
        raise DeckError(f"{where}: unknown control {quoted(key)}; known: {', '.join(BY_KEY)}")
    if c.options is not None:
        if not isinstance(value, str) or value not in c.options:
            raise DeckError(f"{where}: must be one of {', '.join(map(repr, c.options))} (got {quoted(value)})")
    elif isinstance(value, bool) or not isinstance(value, int) or not c.lo <= value <= c.hi:
        raise DeckError(f"{where}: must be a whole number from {c.lo:,} to {c.hi:,} (got {quoted(value)})")
    return value


def _text(d: dict, name: str, where: str, limit: int, required: bool = False) -> str | None:
    value = d.get(name)
    where = f"{where}.{name}" if where else name
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise DeckError(f"{where}: must be text (got {type(value).__name__})")
    if name == "text" and len(value.encode("utf-8", "surrogatepass")) > limit:
        raise DeckError(f"{where}: at most {limit:,} bytes (got {len(value.encode('utf-8', 'surrogatepass')):,})")
    if name != "text" and len(value) > limit:
        raise DeckError(f"{where}: at most {limit:,} characters (got {len(value):,})")
    if re.search(r"[\ud800-\udfff]", value):
        raise DeckError(f"{where}: contains characters that are not valid Unicode")
    return value


def slide_from_dict(d, where: str = "slide") -> Slide:
    """A validated Slide from its JSON form."""
    if not isinstance(d, dict):
        raise DeckError(f"{where}: must be an object with a page and controls")
    extra = set(d) - {"page", "controls", "checkpoint", "text", "note"}
    if extra:
        raise DeckError(f"{where}: unknown field {quoted(min(extra))}")
    page = d.get("page")
    if not isinstance(page, str) or page not in PAGES:
        raise DeckError(f"{where}.page: must be one of {', '.join(PAGES)} (got {quoted(page)})")
    controls = d.get("controls", {})
    if not isinstance(controls, dict):
        raise DeckError(f"{where}.controls: must be an object of control names and values")
    checked = {}
    for key, value in controls.items():
        if key not in PAGE_CONTROLS[page]:
            raise DeckError(f"{where}.controls: {quoted(key)} is not a control of the {page} page "
                            f"(its controls: {', '.join(PAGE_CONTROLS[page]) or 'none'})")
        checked[key] = check_control(key, value, f"{where}.controls.{key}")
    checkpoint = _text(d, "checkpoint", where, 200)
    text = _text(d, "text", where, MAX_TEXT_BYTES)
    if text is not None and page != "text":
        raise DeckError(f"{where}.text: only slides of the text page carry text")
    if text == "":
        raise DeckError(f"{where}.text: is empty (leave it out to use the slide's example)")
    note = _text(d, "note", where, MAX_NOTE_CHARS) or ""
    return Slide(page, checked, checkpoint, text, note)


def read_deck_file(path) -> Deck:
    """A deck file on the server (a shipped deck): a regular file, read at most MAX_DECK_BYTES + 1 bytes."""
    return load_deck(read_small(path, MAX_DECK_BYTES, f"the deck file {getattr(path, 'name', path)}", DeckError))


def load_deck(data: bytes | str) -> Deck:
    """A validated Deck from a file's bytes; DeckError with one clear message naming the field otherwise."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_DECK_BYTES:
        raise DeckError(f"the deck file is {len(raw):,} bytes; at most {MAX_DECK_BYTES:,}")
    try:
        d = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DeckError("the deck file is not UTF-8 text") from None
    except RecursionError:
        raise DeckError("the deck file is nested too deeply to be a deck") from None
    except json.JSONDecodeError as e:
        raise DeckError(f"the deck file is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise DeckError(f"format: not a deck (a deck's \"format\" is {FORMAT!r})")
    version = d.get("version")
    if version != VERSION:
        raise DeckError(f"version: this app reads deck version {VERSION}, not {quoted(version, 20)}; "
                        "open it with a newer Expire-Span Explorer")
    extra = set(d) - {"format", "version", "title", "slides"}
    if extra:
        raise DeckError(f"unknown field {quoted(min(extra))}")
    title = _text(d, "title", "", MAX_TITLE_CHARS, required=True)
    slides = d.get("slides")
    if not isinstance(slides, list) or not slides:
        raise DeckError("slides: must be a list of at least one slide")
    if len(slides) > MAX_SLIDES:
        raise DeckError(f"slides: at most {MAX_SLIDES} (got {len(slides)})")
    return Deck(title, tuple(slide_from_dict(s, f"slides[{i}]") for i, s in enumerate(slides)))


# --- links: slides in the URL, without their text ------------------------------------------------

def encode(slide: Slide) -> str:
    """'page.code=value...': choices by index, numbers as they are (a control whose range goes below 0 may be
    negative: '-1'); '.t=1' marks text the link leaves out."""
    parts = [slide.page]
    for key, value in slide.controls.items():
        c = BY_KEY[key]
        parts.append(f"{c.code}={c.options.index(value) if c.options is not None else value}")
    if slide.text is not None or slide.own_text:
        parts.append("t=1")
    return ".".join(parts)


def decode(s: str) -> Slide | None:
    """A slide from its link form, or None if anything in it is malformed (a hand-edited link must not
    crash a page). Reads links made before views had ids ('page.example.view.layer.step')."""
    parts = s.split(".")
    if not parts or parts[0] not in PAGES:
        return None
    fields = parts[1:]
    if fields and all("=" not in f for f in fields):
        return _decode_legacy(parts)
    controls, own = {}, False
    for f in fields:
        code, _, value = f.partition("=")
        c = BY_CODE.get(code)
        negative = c is not None and c.options is None and c.lo < 0  # only such a control takes a minus sign
        if not re.fullmatch(r"-[1-9][0-9]{0,7}|[0-9]{1,8}" if negative else r"[0-9]{1,8}", value):
            return None  # ASCII digits only ('²'.isdigit() is true)
        n = int(value)
        if code == "t":
            own = n == 1
            continue
        if c is None or c.key not in PAGE_CONTROLS[parts[0]]:
            return None
        if c.options is not None:
            if n >= len(c.options):
                return None
            controls[c.key] = c.options[n]
        elif c.lo <= n <= c.hi:
            controls[c.key] = n
        else:
            return None
    return Slide(parts[0], controls, own_text=own)


def _decode_legacy(parts: list[str]) -> Slide | None:
    if len(parts) != 5 or not all(re.fullmatch(r"[0-9]{0,8}", p) for p in parts[1:]):
        return None
    example, view, layer, step = (None if p == "" else int(p) for p in parts[1:])
    controls = {}
    if example is not None:
        if example >= len(EXAMPLES):
            return None
        controls["example"] = list(EXAMPLES)[example]
    if view is not None:
        if view >= len(LEGACY_VIEWS):
            return None
        controls["view"] = LEGACY_VIEWS[view]
    for key, value in (("layer", layer), ("step", step)):
        if value is not None:
            c = BY_KEY[key]
            if not c.lo <= value <= c.hi:
                return None
            controls[key] = value
    if parts[0] != "text":
        controls = {}
    return Slide(parts[0], controls)


def encode_all(slides) -> str:
    return "~".join(encode(s) for s in slides)


def decode_all(s: str) -> list[Slide]:
    return [m for m in (decode(p) for p in s.split("~") if p) if m is not None]


def parse_index(value: str, n: int) -> int | None:
    """A slide index from a link's 'at' parameter: ASCII digits below n, else None."""
    return int(value) if re.fullmatch(r"[0-9]{1,4}", value or "") and int(value) < n else None
