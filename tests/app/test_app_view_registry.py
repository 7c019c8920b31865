"""The Text page's views: one table of ids and labels (app/views/text_view_ids.py), one registry of render
functions (app/text_page.py), read by decks, links, presenter mode and the page; old links open the same views."""
import ast
from pathlib import Path

from app import presenter, text_page
from app.views import decks, text_view_ids
from app.views.decks import Slide, decode, encode
from app.views.text_view_ids import LEGACY_VIEWS, STRIP_MODES, VIEW_IDS, VIEW_LABELS, VIEW_OF_LABEL

APP = Path(__file__).resolve().parents[2] / "app"
# Links store a view by its index in this order and decks by its id: neither may ever change.
LINK_ORDER = ["kept", "heatmap", "bytes", "step", "attention", "lifetimes", "in-use", "classes", "bits", "edit"]
# Links made before views had ids ('text.example.view.layer.step') opened these labels, by index.
LEGACY_LABELS = ["Span heatmap", "Text by span", "Remembered at step t", "Memory lifetimes", "Memory in use",
                 "Span by byte class", "Loss in bits", "Edit and compare", "What each layer kept",
                 "Attention at step t"]


def test_registry_ids_are_the_decks_and_the_presenters_in_the_same_order():
    assert list(text_page.VIEWS) == list(VIEW_IDS) == LINK_ORDER
    assert list(decks.BY_KEY["view"].options) == LINK_ORDER
    assert presenter.TEXT_VIEWS == VIEW_LABELS == [v.label for v in text_page.VIEWS.values()]
    assert VIEW_LABELS[0] == "What each layer kept"  # the default view


def test_each_label_is_unique_and_maps_back_to_its_id():
    assert len(set(VIEW_LABELS)) == len(VIEW_LABELS)
    assert all(VIEW_IDS[VIEW_OF_LABEL[label]] == label for label in VIEW_LABELS)


def test_each_view_id_has_its_render_function():
    for vid, view in text_page.VIEWS.items():
        assert view.render is getattr(text_page, "render_" + vid.replace("-", "_")), vid
        assert view.label == VIEW_IDS[vid]


def test_old_links_and_decks_open_the_same_views():
    assert [VIEW_IDS[v] for v in LEGACY_VIEWS] == LEGACY_LABELS
    for i, label in enumerate(LEGACY_LABELS):
        assert VIEW_IDS[decode(f"text.0.{i}..").controls["view"]] == label
    for i, vid in enumerate(LINK_ORDER):
        assert decode(f"text.v={i}") == Slide("text", {"view": vid})
        assert encode(Slide("text", {"view": vid})) == f"text.v={i}"
        assert decks.slide_from_dict({"page": "text", "controls": {"view": vid}}).controls["view"] == vid
    assert decode("text.v=3") == Slide("text", {"view": "step"}) and VIEW_IDS["step"] == "Remembered at step t"


def test_strip_modes_are_one_list():
    assert list(decks.BY_KEY["strip_mode"].options) == STRIP_MODES
    assert STRIP_MODES == ["every layer", "one layer", "mean over layers", "max over layers"]  # links: by index
    assert text_page.STRIP_MODES is STRIP_MODES


def test_the_view_table_is_defined_once():
    """Only app/views/text_view_ids.py defines the ids, labels and strip modes, and no page or module spells
    the strip modes out again."""
    names = {"VIEW_IDS", "VIEW_LABELS", "VIEW_OF_LABEL", "LEGACY_VIEWS", "STRIP_MODES", "TEXT_VIEWS"}
    home = Path(text_view_ids.__file__).resolve()
    found = []
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            assigned = {t.id for t in targets if isinstance(t, ast.Name)} & names
            if path.resolve() != home and assigned - {"TEXT_VIEWS"}:
                found.append(f"{path.relative_to(APP)}:{node.lineno} {sorted(assigned)}")
            if path.resolve() != home and isinstance(node, (ast.List, ast.Tuple)) and [
                    getattr(e, "value", None) for e in node.elts] == STRIP_MODES:
                found.append(f"{path.relative_to(APP)}:{node.lineno} the strip modes")
    assert not found, found
