"""Bookmarks of a view (page, example, view, layer, step) as short strings for the URL.

Only indices and numbers go in: user text never enters the URL. Format of one bookmark:
'page.example.view.layer.step' with empty fields for what does not apply; several joined by '~'.
"""
from dataclasses import dataclass

PAGES = ("text", "teaching", "compare", "objects", "about")


@dataclass(frozen=True)
class Bookmark:
    page: str = "text"
    example: int | None = None   # index into app.examples.EXAMPLES
    view: int | None = None      # index into the Text page's views
    layer: int | None = None
    step: int | None = None

    def encode(self) -> str:
        parts = [self.page] + ["" if v is None else str(v) for v in (self.example, self.view, self.layer, self.step)]
        return ".".join(parts)


def decode(s: str) -> Bookmark | None:
    """A bookmark from its string, or None if it is malformed (a hand-edited link must not crash)."""
    parts = s.split(".")
    if len(parts) != 5 or parts[0] not in PAGES:
        return None
    try:
        numbers = [None if p == "" else int(p) for p in parts[1:]]
    except ValueError:
        return None
    if any(n is not None and not 0 <= n <= 10_000_000 for n in numbers):
        return None
    return Bookmark(parts[0], *numbers)


def encode_all(marks: list[Bookmark]) -> str:
    return "~".join(m.encode() for m in marks)


def decode_all(s: str) -> list[Bookmark]:
    return [m for m in (decode(p) for p in s.split("~") if p) if m is not None]
