"""app/settings.py is the one place for the app's limits and defaults, and the leaf every layer reads; a
checkpoint's task comes from its own run_config.json; figures the pages quote come from checkpoints/results.json,
never from the code."""
import ast
import json
import logging
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from app import loading, settings
from app.views import collision as cv
from app.views.corridor import CORRIDOR_CONFIG

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
RESULTS = json.loads((ROOT / "checkpoints" / "results.json").read_text(encoding="utf-8"))


def imports_of(path: Path) -> list[str]:
    """The modules a file imports, relative ones as written (".settings", "..loading")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    return found


# --- settings: a leaf, read by every layer -------------------------------------------------------------------

def test_settings_imports_nothing_but_future_annotations():
    assert imports_of(APP / "settings.py") == ["__future__"]


def test_the_views_import_only_views_settings_and_the_model():
    """app/views/ is the pure layer: it may read app/settings.py, never the shell above it (loading, store, ui)."""
    bad = []
    for path in sorted((APP / "views").glob("*.py")):
        for name in imports_of(path):
            upward = name.startswith("..") and name != "..settings"
            absolute_app = name.startswith("app") and not name.startswith(("app.views", "app.settings"))
            if upward or absolute_app:
                bad.append(f"{path.name}: {name}")
    assert not bad, bad


def test_settings_are_plain_values():
    values = {k: v for k, v in vars(settings).items() if k.isupper()}
    assert len(values) >= 30
    assert all(isinstance(v, (int, float, str, tuple, dict)) for v in values.values())
    assert settings.OBJECTS_MIN_FRAMES <= settings.OBJECTS_DEFAULT_FRAMES <= settings.OBJECTS_MAX_FRAMES
    assert settings.MAX_UPLOAD_TOKENS >= settings.OBJECTS_MAX_FRAMES * 8  # the longest sequence the page makes
    assert settings.FAMILIAR_RATIO < settings.FOREIGN_RATIO


def test_modules_read_their_limits_from_settings():
    from app import baselines, guard, store
    from app.views import diff, figures, strips, words
    assert loading.MAX_INPUT_BYTES is settings.MAX_INPUT_BYTES and loading.SHIPPED is settings.SHIPPED
    assert store.MAX_VIEWS == settings.MAX_VIEWS and store.ATTENTION_BYTES <= settings.ATTENTION_BYTES
    assert guard.MAX_MESSAGE_CHARS == settings.MAX_MESSAGE_CHARS
    assert baselines.MAX_METADATA_BYTES == settings.MAX_METADATA_BYTES
    assert figures.MAX_WINDOW == settings.MAX_WINDOW and diff.MAX_COMPARE_BYTES == settings.MAX_COMPARE_BYTES
    assert words.MAX_WORD_BYTES == settings.MAX_WORD_BYTES and strips.PALETTE_LEVELS == settings.PALETTE_LEVELS


def test_the_corridor_episodes_are_those_the_shipped_model_was_trained_on():
    """settings.CORRIDOR_TASK is the [data] of configs/corridor.toml, which the shipped corridor checkpoints'
    run_config.json repeat (configs/ is not in the Docker image: the app cannot read the file itself)."""
    toml = tomllib.loads((ROOT / "configs" / "corridor.toml").read_text(encoding="utf-8"))["data"]
    for name in ("corridor", "corridor-txl"):
        shipped = json.loads((ROOT / "checkpoints" / name / "run_config.json").read_text())["data"]
        for key, value in settings.CORRIDOR_TASK.items():
            assert toml[key] == value and shipped[key] == value, (name, key)
    assert loading.CORRIDOR_CONFIG is CORRIDOR_CONFIG and CORRIDOR_CONFIG.min_length == toml["min_length"]


# --- a checkpoint's task: its run_config.json, else the guess ---------------------------------------------------

TEXT = SimpleNamespace(vocab_size=256)
CORRIDOR = SimpleNamespace(vocab_size=22)


def checkpoint_folder(tmp_path: Path, name: str, run_config=None) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    if run_config is not None:
        text = run_config if isinstance(run_config, str) else json.dumps(run_config)
        (folder / "run_config.json").write_text(text)
    return folder


def test_every_shipped_checkpoint_names_its_task_in_its_run_config():
    for folder in sorted((ROOT / "checkpoints").iterdir()):
        if folder.is_dir():
            assert loading.run_config_task(folder) in loading.TASKS, folder.name


def test_the_run_config_wins_over_a_misleading_folder_name(tmp_path):
    folder = checkpoint_folder(tmp_path, "corridor-objects", {"data": {"task": "text"}, "model": {}, "train": {}})
    assert loading.guess_task("corridor-objects", TEXT, folder) == "corridor"  # what the name alone says
    assert loading.task_of("corridor-objects", TEXT, folder) == "text"
    assert loading.task_of("corridor-objects", TEXT, str(folder)) == "text"


def test_without_a_run_config_the_task_is_guessed(tmp_path):
    """Hub and converted checkpoints ship no run_config.json: the name, vocab.json and vocabulary size say."""
    assert loading.task_of("my-corridor", TEXT, checkpoint_folder(tmp_path, "my-corridor")) == "corridor"
    assert loading.task_of("plain", CORRIDOR, checkpoint_folder(tmp_path, "plain")) == "corridor"
    converted = checkpoint_folder(tmp_path, "converted-corridor")
    (converted / "vocab.json").write_text("{}")
    assert loading.task_of("converted-corridor", CORRIDOR, converted) == "text"
    assert loading.task_of("owner/some-repo", SimpleNamespace(vocab_size=7)) == "unknown"  # a Hub repo: no folder


@pytest.mark.parametrize("run_config", [
    "{not json", "[1, 2]", {"data": "text"}, {"model": {}}, {"data": {"task": "poetry"}}, {"data": {"task": 3}},
])
def test_an_unusable_run_config_falls_back_to_the_guess_and_is_logged(tmp_path, caplog, run_config):
    """Decided in loading.run_config_task: the run config only names the page, so a damaged one is logged on the
    server and the task guessed, and the checkpoint stays in the pickers."""
    folder = checkpoint_folder(tmp_path, "object-thing", run_config)
    with caplog.at_level(logging.WARNING, logger="expire_span.app"):
        assert loading.run_config_task(folder) is None
        assert loading.task_of("object-thing", TEXT, folder) == "collision"
    assert "task is guessed" in caplog.text


def test_a_run_config_too_large_or_not_a_file_falls_back(tmp_path):
    big = checkpoint_folder(tmp_path, "big-corridor", " " * (settings.MAX_RUN_CONFIG_BYTES + 1) + "{}")
    assert loading.task_of("big-corridor", TEXT, big) == "corridor"
    odd = checkpoint_folder(tmp_path, "odd-corridor")
    (odd / "run_config.json").mkdir()
    assert loading.task_of("odd-corridor", TEXT, odd) == "corridor"


def test_the_run_config_is_read_once_per_version(tmp_path, monkeypatch):
    folder = checkpoint_folder(tmp_path, "plain", {"data": {"task": "collision"}})
    reads = []
    real = loading.read_small_json
    monkeypatch.setattr(loading, "read_small_json", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    for _ in range(3):
        assert loading.task_of("plain", TEXT, folder) == "collision"
    assert len(reads) <= 1  # none when an earlier test read this very version
    (folder / "run_config.json").write_text(json.dumps({"data": {"task": "corridor"}, "model": {"x": 1}}))
    assert loading.task_of("plain", TEXT, folder) == "corridor"  # a changed file is read again


# --- figures live with their measurements ------------------------------------------------------------------------

DATE = re.compile(r"20\d\d-\d\d-\d\d")


def test_no_date_in_the_app_code():
    """Dated figures belong in tracked result files (checkpoints/results.json, bench/README.md), not in code
    or page text: a page never quotes a figure the repository's files do not hold."""
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}"
             for path in sorted(APP.rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if DATE.search(line)]
    assert not found, "\n".join(found)


def test_results_of_finds_the_entry_that_measured_a_checkpoint(tmp_path):
    shipped = ROOT / "checkpoints"
    assert loading.results_of(str(shipped / "object-collision")) == RESULTS["object-collision"]
    assert loading.results_of(str(shipped / "text"))["expire_span"]["bits"] == RESULTS["text"]["expire_span"]["bits"]
    assert loading.results_of(str(shipped / "text-txl")) is None  # a baseline: measured in its partner's entry
    assert loading.results_of(loading.HUB_PREFIX + "owner/object-collision") is None
    assert loading.results_of(str(checkpoint_folder(tmp_path, "object-collision"))) is None  # no results.json
    (tmp_path / "results.json").write_text("{broken")
    assert loading.results_of(str(tmp_path / "object-collision")) is None


def test_test_bits_come_from_results_json_else_from_the_card(tmp_path):
    assert loading.held_out_bits(str(ROOT / "checkpoints" / "text")) == RESULTS["text"]["expire_span"]["bits"]
    folder = checkpoint_folder(tmp_path, "converted")
    (folder / "README.md").write_text("# A card\n\n## Results\n\n- bits: 1.25\n")
    assert loading.held_out_bits(str(folder)) == 1.25  # no results.json beside it: the card's figure
    assert loading.held_out_bits(str(checkpoint_folder(tmp_path, "bare"))) is None


def test_the_object_page_quotes_only_figures_from_results_json():
    entry = RESULTS["object-collision"]
    note = cv.measured_note(entry, settings.OBJECTS_DEFAULT_FRAMES)
    fresh = entry["fresh_sequences"]
    assert note.startswith(f"Measured on this checkpoint over {fresh['seeds']} seeds")
    assert f"on {fresh['measured_on']}" in note and fresh["script"] in note
    held = set()
    for row in fresh["lengths"]:
        held |= {row["mean"], row["min"], row["max"], *row.get("quarters", []), row.get("rule_mean", 0)}
    held |= {fresh["test_stream"]["accuracy"], *fresh["test_stream"]["quarters"], 1 - entry["expire_span"]["error"],
             fresh["test_stream"].get("rule_accuracy", 0)}
    quoted = {int(p) for p in re.findall(r"(\d+)%", note)}
    assert quoted <= {round(100 * x) for x in held}, quoted
    for row in fresh["lengths"]:  # the rule's figure stands beside the model's, where results.json gives it
        if row.get("rule_mean") is not None:
            assert f"(the latest-collision rule: {round(100 * row['rule_mean'])}%)" in note
    assert f"The latest-collision rule gets {round(100 * fresh['test_stream']['rule_accuracy'])}% of it right" in note
    assert f"{settings.OBJECTS_DEFAULT_FRAMES:,} frames (the default here)" in note


def test_the_default_length_is_the_steadiest_measured():
    rows = RESULTS["object-collision"]["fresh_sequences"]["lengths"]
    steadiest = min(rows, key=lambda r: r["max"] - r["min"])
    assert steadiest["frames"] == settings.OBJECTS_DEFAULT_FRAMES


@pytest.mark.parametrize("entry", [None, {}, {"fresh_sequences": {"seeds": "ten"}},
                                   {"fresh_sequences": {"seeds": 2, "lengths": [{"frames": 5}]}}])
def test_no_note_from_figures_that_are_missing_or_malformed(entry):
    assert cv.measured_note(entry, 3000) is None
