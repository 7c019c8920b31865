"""Memory policies on held-out data (model/policy_eval.py, docs/method.md 15.6): the budgets, the positions
scored, agreement with the plain trace and held_out_metrics, the README table, and `model.evaluate --policies`."""
import json

import numpy as np
import pytest

from support import tiny_model
from model import trace
from model.batches import task_vocab_size
from model.evaluate import main
from model.evaluate import held_out_metrics
from model.policies import BUDGETED, default_budget, visible_memories
from model.tasks import collision
from model.policy_eval import SCALES, evaluate_policies, held_out_pieces, policy_table, summary, value

TEXT = (b"It was the best of times, it was the worst of times; the ferry left at dawn and came back late. "
        b"Proteus wrote to Julia, and Julia tore the letter; Valentine sailed for Milan at noon.\n")
N_TOKENS, ROWS = 1024, 4  # 4 slices of 256 bytes: 32 blocks of M = 8 each


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "test.txt").write_bytes(TEXT * 24)  # 4,416 bytes
    return {"corpus": str(folder)}


@pytest.fixture(scope="module")
def measured(corpus):
    model = tiny_model()
    return model, evaluate_policies(model, "text", corpus, 0, N_TOKENS, batch_size=ROWS)


def test_budgets_are_half_once_and_twice_the_mean_kept_memory_and_hold(measured, corpus):
    model, result = measured
    L = model.config.max_span
    pieces = held_out_pieces(model, "text", corpus, 0, N_TOKENS, ROWS)
    plain = [trace(model, tokens, targets=targets) for tokens, targets in pieces]
    mean = np.concatenate([visible_memories(t) for t in plain], axis=1).mean(axis=1)
    np.testing.assert_allclose(result["mean_kept"], mean, atol=0.005)
    assert result["reference"] == result["mean_kept"]
    for scale, factor in SCALES.items():
        assert result["budgets"][scale] == [min(L, max(1, int(round(factor * m)))) for m in result["mean_kept"]]
    assert result["budgets"]["half"] != result["budgets"]["mean"] != result["budgets"]["double"]
    for row in result["rows"]:
        if row["policy"] in BUDGETED:
            assert row["budget"] == result["budgets"][row["scale"]]
            # memories in use: never above the budget in any layer or block, and filled up to it
            assert all(most <= k for most, k in zip(row["memories_max"], row["budget"], strict=True)), row
            assert row["memories_max"] == row["budget"], row
    assert [(r["policy"], r["scale"]) for r in result["rows"]] == [
        ("expire-span", None), *[(p, s) for p in BUDGETED for s in SCALES], ("keep-all", None)]


def test_x1_is_the_default_budget_of_a_single_plain_trace(corpus):
    model = tiny_model(seed=2)
    result = evaluate_policies(model, "text", corpus, 0, 512, budgets=("mean",), batch_size=1)
    (tokens, targets), = held_out_pieces(model, "text", corpus, 0, 512, 1)
    assert result["budgets"] == {"mean": default_budget(trace(model, tokens, targets=targets))}
    assert {r["scale"] for r in result["rows"]} == {None, "mean"}


def test_keep_all_and_the_model_s_own_memory_run_once_without_a_budget(measured):
    model, result = measured
    own, = [r for r in result["rows"] if r["policy"] == "expire-span"]
    keep_all, = [r for r in result["rows"] if r["policy"] == "keep-all"]
    assert own["scale"] is None and own["budget"] is None
    L = model.config.max_span
    assert keep_all["scale"] is None and keep_all["budget"] == [L] * model.config.n_layers  # only the cap of L
    assert own["memories"] == [round(m, 1) for m in result["mean_kept"]]


def test_every_policy_is_scored_on_the_same_positions(measured, corpus):
    model, result = measured
    pieces = held_out_pieces(model, "text", corpus, 0, N_TOKENS, ROWS)
    assert len(pieces) == ROWS and all(len(tokens) == N_TOKENS // ROWS for tokens, _ in pieces)
    scored = sum(int((targets >= 0).sum()) for _, targets in pieces)
    assert scored == N_TOKENS == result["scored"] and result["tokens"] == N_TOKENS
    assert {r["scored"] for r in result["rows"]} == {scored}
    bits = [r["bits"] for r in result["rows"]]
    assert all(np.isfinite(bits)) and len(set(bits)) > 1, "the policies change the loss"


def test_the_model_s_own_memory_scores_as_a_plain_trace_and_test_metrics(measured, corpus):
    model, result = measured
    want = held_out_metrics(model, "text", corpus, 0, N_TOKENS, batch_size=ROWS)
    assert value(result, "expire-span", metric="scored") == want["scored"]
    assert value(result, "expire-span") == pytest.approx(want["bits"], abs=1e-4)
    assert value(result, "expire-span", metric="error") == pytest.approx(want["error"], abs=1e-9)
    # one row: the first n bytes with their next bytes, the plain next-token trace of n + 1 bytes
    one = evaluate_policies(model, "text", corpus, 0, 512, budgets=(), batch_size=1)
    n = one["tokens"]
    plain = trace(model, (TEXT * 24)[:n + 1])
    assert value(one, "expire-span") == pytest.approx(float(np.nanmean(plain.bits.astype(np.float64))), abs=1e-5)
    assert value(one, "expire-span", metric="error") == pytest.approx(
        float(np.mean(plain.predictions[:n] != plain.tokens[1:n + 1])))


def test_corridor_episodes_are_pieces_from_empty_memory():
    data = dict(n_cues=2, n_distractors=4, min_length=8, max_length=20, eval_length=20)
    model = tiny_model(vocab_size=task_vocab_size("corridor", data))
    # 20 distractors + start, cue and query: 23 tokens, left-padded to 3 blocks of 8
    result = evaluate_policies(model, "corridor", data, 0, 24 * 8 * 2, budgets=("mean",))
    assert result["pieces"] == 16 and result["piece_tokens"] == [24] and result["scored"] == 16
    assert result["metric"] == "error" and {r["scored"] for r in result["rows"]} == {16}
    want = held_out_metrics(model, "corridor", data, 0, 24 * 8 * 2)
    assert value(result, "expire-span") == want["error"]
    assert value(result, "expire-span", metric="bits") == pytest.approx(want["bits"], abs=1e-4)


def test_given_pieces_are_scored_instead_of_the_held_out_ones():
    """The collision task's fresh sequences (docs/method.md 17.3) go in as pieces, each from empty memory."""
    cfg = collision.SCALED
    model = tiny_model(vocab_size=collision.vocab_size(cfg), pre_norm=True)
    seqs = [collision.generate(cfg, 30, seed) for seed in (9_000, 9_001)]
    pieces = [(s.tokens, s.targets) for s in seqs]
    result = evaluate_policies(model, "collision", {}, 0, 0, budgets=("mean",), pieces=pieces)
    assert result["pieces"] == 2 and result["piece_tokens"] == [30 * cfg.frame_len]
    assert result["scored"] == sum(int((s.targets >= 0).sum()) for s in seqs)
    wrong = sum(int((trace(model, s.tokens, targets=s.targets).predictions != s.targets)[s.targets >= 0].sum())
                for s in seqs)
    assert value(result, "expire-span") == wrong / result["scored"]


def synthetic(own: float, numbers: dict, keep_all: float, expire_span=True, L=64) -> dict:
    """A result as evaluate_policies returns it, with chosen metrics (error)."""
    rows = [{"policy": "expire-span", "scale": None, "budget": None, "error": own, "bits": 1.0}]
    rows += [{"policy": p, "scale": s, "budget": [1], "error": numbers[p][i], "bits": 1.0}
             for p in BUDGETED for i, s in enumerate(SCALES)]
    rows.append({"policy": "keep-all", "scale": None, "budget": [L], "error": keep_all, "bits": 1.0})
    return {"task": "corridor", "metric": "error", "expire_span": expire_span, "max_span": L, "tokens": 4096,
            "pieces": 4, "piece_tokens": [1024], "scored": 4, "mean_kept": [20.0], "reference": [20.0],
            "budgets": {"half": [10], "mean": [20], "double": [40]}, "rows": rows}


def test_policy_table_renders_every_policy_and_names_the_best():
    es = synthetic(0.20, {"window": [0.50, 0.30, 0.15], "sinks": [0.45, 0.35, 0.25],
                          "heavy-hitters": [0.40, 0.30, 0.22]}, keep_all=0.10)
    lines = policy_table({"expire_span": es})
    table = "\n".join(lines)
    for label in ("expire-span (learned", "| window |", "| sinks (first 4", "| heavy-hitters (half",
                  "| keep-all (nearest L = 64"):
        assert label in table
    assert "| Expire-Span | expire-span (learned; its own memory, x1) | — | 0.200 | — | — |" in lines
    assert "| Expire-Span | window | 0.500 | **0.300** | **0.150** | — |" in lines
    assert "| Expire-Span | heavy-hitters (half nearest) | **0.400** | **0.300** | 0.220 | — |" in lines
    assert "Transformer-XL" not in table
    said = summary(es)
    assert "Best rule: x0.5 heavy-hitters (0.400); x1 window and heavy-hitters (0.300); x2 window (0.150)." in said
    assert "Better than learned expiry (0.200): window at x2 (0.150) and keep-all (0.100); " \
           "at equal memory (x1), none." in said

    beaten = synthetic(0.20, {p: [0.5, 0.18, 0.1] for p in BUDGETED}, keep_all=0.3)
    assert "at equal memory (x1): window, sinks and heavy-hitters." in summary(beaten)
    best = synthetic(0.0, {p: [0.5, 0.4, 0.3] for p in BUDGETED}, keep_all=0.2)
    assert "No rule beats learned expiry (0.000) at x0.5, x1 and x2, nor does keep-all." in summary(best)
    assert "matches" not in summary(best)
    tied = synthetic(0.0, {"window": [0.7, 0.7, 0.7], "sinks": [0.7, 0.7, 0.7], "heavy-hitters": [0.2, 0.2, 0.0]},
                     keep_all=0.0)
    assert summary(tied).endswith("nor does keep-all. heavy-hitters at x2 and keep-all match it.")
    one_tie = synthetic(0.2, {p: [0.5, 0.2, 0.1] for p in BUDGETED}, keep_all=0.3)
    assert summary(one_tie).endswith("window at x1, sinks at x1 and heavy-hitters at x1 match it.")


def test_policy_table_with_the_baseline():
    es = synthetic(0.20, {p: [0.5, 0.4, 0.3] for p in BUDGETED}, keep_all=0.25)
    base = synthetic(0.70, {p: [0.8, 0.7, 0.1] for p in BUDGETED}, keep_all=0.7, expire_span=False, L=32)
    base["budgets"]["double"] = [32]
    lines = policy_table({"expire_span": es, "baseline": base})
    assert "| Transformer-XL | own memory (nearest L = 32) | — | — | — | 0.700 |" in lines
    assert "| Transformer-XL | window | **0.800** | **0.700** | **0.100** | — |" in lines
    assert "| Expire-Span | window | **0.500** | **0.400** | **0.300** | — |" in lines
    assert "cut to its L = 32 at x2" in lines[0]
    assert "Transformer-XL: Best rule: x0.5 window, sinks and heavy-hitters (0.800); x1 window, sinks and " \
           "heavy-hitters (0.700); x2 window, sinks and heavy-hitters (0.100). Better than its own nearest-32 " \
           "memory (0.700): window at x2 (0.100), sinks at x2 (0.100) and heavy-hitters at x2 (0.100). " \
           "window at x1, sinks at x1, heavy-hitters at x1 and keep-all match it." in lines
    assert lines[-1] == ("Against Expire-Span's learned expiry (0.200), the baseline does better under window "
                         "at x2 (0.100), sinks at x2 (0.100) and heavy-hitters at x2 (0.100) only.")


def test_evaluate_policies_flag_writes_results_and_the_readme_table(tmp_path, corpus):
    for name, model in (("es", tiny_model(seed=1)), ("txl", tiny_model(seed=3, expire_span=False, max_span=32))):
        model.save_pretrained(tmp_path / name)
        (tmp_path / name / "run_config.json").write_text(json.dumps(
            {"data": {"task": "text", **corpus}, "train": {"seed": 0}}))
    results = tmp_path / "out" / "results.json"
    args = ["--task", "text", "--checkpoint", str(tmp_path / "es"), "--results", str(results),
            "--tokens", "1024", "--policies", "--policy-tokens", "512"]
    assert main([*args, "--baseline", str(tmp_path / "txl")]) == 0
    policies = json.loads(results.read_text())["text"]["policies"]
    es, base = policies["expire_span"], policies["baseline"]
    assert es["tokens"] == base["tokens"] == 512 and es["checkpoint"] == str(tmp_path / "es")
    assert base["reference"] == es["reference"] == es["mean_kept"]
    assert base["budgets"] == {s: [min(32, k) for k in ks] for s, ks in es["budgets"].items()}
    assert len(es["rows"]) == len(base["rows"]) == 11
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "## Memory policies at equal memory" in readme and "### text" in readme
    assert "| Expire-Span | heavy-hitters (half nearest) |" in readme and "| Transformer-XL | window |" in readme
    assert "Expire-Span: Best rule: x0.5 " in readme

    # notes written by hand beside the policy scores go under the table and survive a new measurement
    stored = json.loads(results.read_text())
    stored["text"]["policy_notes"] = ["Heavy hitters spend their slots on the start state."]
    results.write_text(json.dumps(stored))
    # again without the baseline: its policy scores are kept (same budgets); without --policies, all are kept
    assert main(args) == 0
    assert json.loads(results.read_text())["text"]["policies"]["baseline"] == base
    assert main(args[:-3]) == 0
    assert json.loads(results.read_text())["text"]["policies"]["expire_span"]["rows"] == es["rows"]
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "| Transformer-XL | window |" in readme
    assert "\n- note: Heavy hitters spend their slots on the start state.\n" in readme

    # --baseline-only measures the baseline alone and keeps the model's stored numbers, which it requires
    stored = json.loads(results.read_text())["text"]
    stored["expire_span"]["bits"] = stored["policies"]["expire_span"]["rows"][0]["bits"] = 9.0  # a marker
    results.write_text(json.dumps({"text": stored}))
    assert main([*args, "--baseline", str(tmp_path / "txl"), "--baseline-only"]) == 0
    again = json.loads(results.read_text())["text"]
    assert again["expire_span"]["bits"] == 9.0 and again["policies"]["expire_span"]["rows"][0]["bits"] == 9.0
    assert again["policies"]["baseline"]["rows"] == base["rows"]
    assert main([*args, "--baseline-only"]) == 2  # no baseline named
    other = ["--task", "text", "--checkpoint", str(tmp_path / "txl"), "--results", str(results), "--baseline-only",
             "--baseline", str(tmp_path / "txl")]
    assert main(other) == 2  # this checkpoint was never measured
