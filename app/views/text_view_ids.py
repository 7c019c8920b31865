"""The Text page's views: their stable ids and labels, in the order shown; the one table of them.

Decks and links name a view by its id (app.views.decks), the page's radio shows its label, and the page's
registry (app.text_page.VIEWS) gives each id its render function, in this same order. A label may change;
an id, once in a deck or a link, never does. Pure: no Streamlit.
"""

# id -> label, in the order the page shows them; the first is the default.
VIEW_IDS = {"kept": "What each layer kept", "heatmap": "Span heatmap", "bytes": "Text by span",
            "step": "Remembered at step t", "attention": "Attention at step t", "lifetimes": "Memory lifetimes",
            "in-use": "Memory in use", "classes": "Span by byte class", "bits": "Loss in bits",
            "edit": "Edit and compare"}
VIEW_LABELS = list(VIEW_IDS.values())
VIEW_OF_LABEL = {label: vid for vid, label in VIEW_IDS.items()}
# Links made before views had ids number them in this order.
LEGACY_VIEWS = ["heatmap", "bytes", "step", "lifetimes", "in-use", "classes", "bits", "edit", "kept", "attention"]
# The strips of the "Text by span" view (links store the index: append, never reorder).
STRIP_MODES = ["every layer", "one layer", "mean over layers", "max over layers"]

if len(VIEW_OF_LABEL) != len(VIEW_IDS) or sorted(set(LEGACY_VIEWS) & set(VIEW_IDS)) != sorted(LEGACY_VIEWS):
    raise AssertionError("Text page views: each label unique; old links number each view once, and only views")
