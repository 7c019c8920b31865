"""The example texts shipped in assets/examples/ (pairs for edit-and-compare, like the paper's Figure 8). Figure 9's
example is Matthew 27:5-27 of the World English Bible (public domain), from the corpus's test split: "Barabbas"
returns about 600 bytes after its previous mention, so with L cut to L/4 = 512 (view "Loss in bits") its letters
lose most. The novel openings are from Project Gutenberg texts (public domain). The short story with invented names
was written for this project (CC0): modern prose the text model never saw, with names that return."""
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "examples"

# title -> (file, partner file for the compare view or None)
EXAMPLES = {
    "Figure 8: a rare name (Egypt)": ("figure8-rare.txt", "figure8-common.txt"),
    "Figure 8: the same with a common word": ("figure8-common.txt", "figure8-rare.txt"),
    "Pride and Prejudice (opening)": ("pride-and-prejudice.txt", None),
    "Moby-Dick (opening)": ("moby-dick.txt", None),
    "A Tale of Two Cities (opening)": ("two-cities.txt", None),
    "Figure 9: a name that returns (Barabbas)": ("figure9-barabbas.txt", None),
    "A short story with invented names (Varnholm)": ("ferry-to-varnholm.txt", None),
}  # appended, never inserted: bookmarks in shared URLs name examples by their position


def example_text(title: str) -> str:
    return (EXAMPLES_DIR / EXAMPLES[title][0]).read_text(encoding="utf-8")


def partner_text(title: str) -> str | None:
    partner = EXAMPLES[title][1]
    return None if partner is None else (EXAMPLES_DIR / partner).read_text(encoding="utf-8")
