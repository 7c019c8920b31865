"""Every limit and default the app uses, in one place.

This module is the leaf of the app package: it imports nothing from ``app``
(or from ``model``), so every layer -- the pure views in ``app/views/``, the
loaders, the pages -- can read it without an upward import.

Plain values only: no measured figure lives here (those are in checkpoints/results.json and the
checkpoint cards), only what the app chooses to allow or to show first.
"""

from __future__ import annotations

# --- checkpoints and the files beside them (app/loading.py, app/baselines.py) --------------------------------
CHECKPOINTS_ENV = "EXPIRE_SPAN_CHECKPOINTS"  # a folder of checkpoint folders, instead of checkpoints/
SHIPPED = ("text", "corridor", "object-collision")  # listed first, in this order; other folders by name after them
MAX_CARD_BYTES = 1 << 20        # a model card read for the page; a larger one (or no regular file) is left out
MAX_METADATA_BYTES = 64 << 10   # metadata.json (which baseline a checkpoint names)
MAX_RUN_CONFIG_BYTES = 1 << 20  # run_config.json (the training config a checkpoint ships with: its task)
MAX_RESULTS_BYTES = 16 << 20    # results.json beside the checkpoint folders (model.evaluate: a few hundred kB)

# --- what a visitor's input may be ------------------------------------------------------------------------------
MAX_INPUT_BYTES = 50_000     # longest text traced without asking to cut it (Text and Compare pages)
MAX_COMPARE_BYTES = 20_000   # edit-and-compare aligns texts up to this long (difflib, byte by byte)
POLICIES_MAX_BYTES = 8_000   # a rule-based policy traces one block per pass: keep four of them quick
ATTENTION_BYTES = 2048       # bytes whose attention is recorded (a T x T matrix per layer; at most the model's cap)
MAX_WORD_BYTES = 32          # a longer word is cut into pieces of at most this many bytes
MAX_UPLOAD_BYTES = 2_000_000  # an uploaded collision sequence (JSON), before parsing
MAX_UPLOAD_TOKENS = 80_000    # ... and its tokens, before tracing
MAX_MESSAGE_CHARS = 400       # an error shown on a page is cut to this many characters

TEXT_WINDOW = 2048           # bytes of text drawn as coloured words at once (the Text page's strips)

# --- decks and links (app/views/decks.py) ---------------------------------------------------------------------------
MAX_DECK_BYTES = 2_000_000  # a deck file, before parsing
MAX_SLIDES = 100
MAX_DECK_TEXT_BYTES = MAX_INPUT_BYTES  # a slide's own text: as long as a pasted one
MAX_NOTE_CHARS = 2_000      # a slide's speaker note
MAX_TITLE_CHARS = 200
QUOTE_CHARS = 80            # a value from a file or link is quoted in a message up to this many characters
MAX_LAYERS = 64             # a layer number a link may name
MAX_FRAME = 1_000_000       # a frame number a link may name

# --- figures ------------------------------------------------------------------------------------------------------
MAX_WINDOW = 2048       # tokens drawn one by one (with hover) in one figure
OVERVIEW_BINS = 1000    # columns of the pooled overview of a long input
ANIMATION_BYTES = 1024  # bytes of the window an exported animation covers (keeps the file under 5 MB)
PALETTE_LEVELS = 64     # steps of a strip's palette: at most 11 of 255 apart in a channel, within 6 of the exact one
NO_EFFECT_BITS = 0.0005  # bits per byte: a net rise this small reads as 0.000, so it is no evidence either way

# --- shared stores (app/store.py): per process, for every session -------------------------------------------------
MAX_TRACES = 24          # traces kept
MAX_VIEWS = 96           # built views (words, HTML strips: up to about 200 kB each) kept
# A forget resumes from states of the plain trace saved at pass boundaries (model/trace/snapshots.py, docs/method.md
# 18.6), kept for a plain text trace (no cut, policy or attention) of at least SNAPSHOT_MIN_TOKENS tokens:
SNAPSHOTS_PER_TRACE = 16    # states kept per trace, spread over it (what one costs: bench/README.md, "Forget speed")
SNAPSHOT_BYTES = 128 << 20  # all traces' states together; the least recently used trace's go first
SNAPSHOT_MIN_TOKENS = 4096  # a shorter trace keeps none: a full run of it is quick
PROGRESS_AFTER_S = 1.0   # a trace shows its progress bar from this many seconds on (a shorter one never does)
PROGRESS_EVERY_S = 1.0   # seconds between progress-bar updates after that

# --- familiarity of a text (app/familiarity.py): its bits per byte over the model's test figure ---------------------
FAMILIAR_RATIO = 1.5  # up to this: familiar
FOREIGN_RATIO = 2.0   # above this: far outside what the model learned (between the two: harder)

# --- the task pages -----------------------------------------------------------------------------------------------
# The corridor episodes the Teaching page generates: the [data] of configs/corridor.toml, which the shipped
# corridor checkpoint was trained on (its run_config.json; tests/app/test_app_settings.py checks both).
CORRIDOR_TASK = dict(n_cues=4, n_distractors=16, min_length=8, max_length=1400, log_uniform=True)
CORRIDOR_DEFAULT_LENGTH = 200  # distractors of the first episode shown
MAX_SEED = 10_000              # the seed fields of the Teaching and Object tracking pages: 0..MAX_SEED
OBJECTS_MIN_FRAMES = 10
OBJECTS_DEFAULT_FRAMES = 3000  # the steadiest length measured (checkpoints/results.json, object-collision)
OBJECTS_MAX_FRAMES = 10_000
POLICIES_DEFAULT_STEP = 400    # the step first shown on the Memory policies page
POLICIES_STRIP_BYTES = 1500    # bytes before that step its strips show
# The Object tracking page says a layer keeps collision frames longer than ordinary ones (and collisions a later
# question asks about longer than the rest) only where the ratio of their mean spans reaches this
# (model/collision_memory.py; docs/method.md section 17).
COLLISION_KEEP_RATIO = 1.5

# --- forgetting a word (the Text page's "Forget a word" section; model/forgetting.py, docs/method.md 18) -----------
FORGET_NOTHING_BITS = 0.1  # extra bits after the word, either way, that read as "changes almost nothing"
FORGET_ROWS = 10           # the later words that lost most, listed
FORGET_KEPT = 4            # forget results one session keeps (the traces; their attention lives in the store)
FORGET_CONTEXT = 400       # bytes before the step shown in the attention strips (from the forgotten word at most)
