"""Does the model know this kind of text? The text's bits per byte against the model's own held-out test text
(the figure its card's Results section holds).

Spans mean less on text a model never learned to predict: a model that cannot predict a language, code or noise
has not learned what in it is worth keeping. Ratios to the test figure: up to settings.FAMILIAR_RATIO is familiar,
above settings.FOREIGN_RATIO far outside (the shipped text model's figures per source and on the written texts
are in checkpoints/results.json and checkpoints/README.md).
"""
import re
from typing import NamedTuple

from .settings import FAMILIAR_RATIO, FOREIGN_RATIO

FAMILIAR, HARDER, FOREIGN = "familiar", "harder", "foreign"
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # matched against one short stripped piece only


class Familiarity(NamedTuple):
    level: str    # FAMILIAR, HARDER or FOREIGN
    ratio: float  # the text's bits per byte over the model's test figure
    message: str  # plain words for the page


def held_out_bits_from_card(card: str | None) -> float | None:
    """The held-out bits per byte in a model card's "Results" section (a line "- bits: <number>"), or None."""
    if not card:
        return None
    in_results = False  # one pass over the lines, each looked at once: linear in the card's length
    for line in card.splitlines():
        if not in_results:
            in_results = line.startswith("##") and line[2:].lstrip().startswith("Results")
            continue
        item = line.strip()
        if item.startswith("-"):
            key, colon, value = item[1:].lstrip().partition(":")
            if colon and key == "bits" and _NUMBER.fullmatch(value.strip()):
                return float(value.strip())
    return None


def familiarity(text_bits: float, held_out_bits: float) -> Familiarity:
    """How far this text is from what the model learned, judged by its loss against the test figure."""
    ratio = text_bits / held_out_bits
    said = f"{text_bits:.2f} bits per byte on this text against {held_out_bits:.2f} on the model's own test text"
    if ratio <= FAMILIAR_RATIO:
        return Familiarity(FAMILIAR, ratio, f"The model reads this text about as well as what it learned ({said}).")
    if ratio <= FOREIGN_RATIO:
        return Familiarity(HARDER, ratio, f"This text is harder for the model than what it learned ({said}): "
                                          "its spans are still meaningful, but less sure.")
    return Familiarity(FOREIGN, ratio, f"This text is far outside what the model learned ({said}): perhaps another "
                                       "language, code or noise. It cannot predict this text well, so what it keeps "
                                       "here says little about what matters in it.")
