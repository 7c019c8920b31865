"""Training pipeline: a smoke run, exact resume, config checks, and DDP over two CPU processes."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from support import ROOT
from model import ConfigError, ExpireSpanLM
from model.train import load_run_config

TEXT = ("It was the best of times, it was the worst of times; the coast was clear at dawn. "
        "In the beginning God created the heavens and the earth. ") * 40


def write_config(tmp_path, out_dir, extra="", task="text"):
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for split in ("train", "valid", "test"):
        (corpus / f"{split}.txt").write_text(TEXT)
    corridor = 'task = "corridor"\nmin_length = 4\nmax_length = 40'
    data = f'task = "text"\ncorpus = "{corpus}"' if task == "text" else corridor
    path = tmp_path / "run.toml"
    path.write_text(f"""
[model]
n_layers = 2
d_model = 32
n_heads = 2
d_ff = 64
block_size = 16
max_span = 64
ramp = 8
span_loss = 1e-3
[data]
{data}
[train]
batch_size = 4
steps = 6
lr = 1e-3
warmup = 2
eval_every = 3
eval_tokens = 512
eval_batch_size = 2
log_every = 1
save_every = 3
out_dir = "{out_dir}"
{extra}
""")
    return path


def run_train(*args, env=None):
    return subprocess.run([sys.executable, "-m", "model.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("task", ["text", "corridor"])
def test_smoke_run_writes_metrics_and_a_loadable_checkpoint(tmp_path, task):
    cfg = write_config(tmp_path, tmp_path / "run", task=task)
    result = run_train("--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "step 6/6" in result.stdout and "span" in result.stdout
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [l["step"] for l in lines if "split" not in l] == [1, 2, 3, 4, 5, 6]
    assert [l["step"] for l in lines if l.get("split") == "valid"] == [3, 6]
    model = ExpireSpanLM.from_pretrained(tmp_path / "run" / "final")
    assert model.config.block_size == 16


def test_keep_every_keeps_the_weights_along_the_way(tmp_path):
    cfg = write_config(tmp_path, tmp_path / "run", extra="keep_every = 2")
    assert run_train("--config", str(cfg)).returncode == 0
    run = tmp_path / "run"
    assert sorted(p.name for p in run.glob("step-*")) == ["step-2", "step-4", "step-6"]
    final, kept = weights(run / "final"), weights(run / "step-6")
    assert all(torch.equal(final[k], kept[k]) for k in final)
    assert not all(torch.equal(final[k], weights(run / "step-2")[k]) for k in final)
    assert ExpireSpanLM.from_pretrained(run / "step-4").config.block_size == 16


def test_resume_continues_exactly_where_it_stopped(tmp_path):
    straight = write_config(tmp_path, tmp_path / "straight")
    assert run_train("--config", str(straight)).returncode == 0
    stopped = write_config(tmp_path, tmp_path / "stopped")
    assert run_train("--config", str(stopped), "--steps", "3").returncode == 0
    result = run_train("--config", str(stopped))
    assert result.returncode == 0 and "resumed at step 3" in result.stdout
    a, b = weights(tmp_path / "straight" / "final"), weights(tmp_path / "stopped" / "final")
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_a_resumed_run_refuses_a_changed_config(tmp_path):
    cfg = write_config(tmp_path, tmp_path / "run")
    assert run_train("--config", str(cfg), "--steps", "3").returncode == 0
    changed = write_config(tmp_path, tmp_path / "run", extra="seed = 5")
    result = run_train("--config", str(changed))
    assert result.returncode == 2
    assert "different config (changed: train.seed)" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("extra, message", [
    ("lerning_rate = 1.0", "unknown [train] keys: lerning_rate"),
    ("batch_size = 0", "train.batch_size must be >= 1"),
    ("lr = -1.0", "train.lr must be > 0"),
    ("keep_every = -1", "train.keep_every must be >= 0"),
])
def test_bad_train_settings_are_refused_before_training(tmp_path, extra, message):
    cfg = write_config(tmp_path, tmp_path / "run", extra=extra).read_text()
    cfg = cfg.replace("batch_size = 4\n", "") if "batch_size" in extra else cfg
    cfg = cfg.replace("lr = 1e-3\n", "") if extra.startswith("lr") else cfg
    (tmp_path / "bad.toml").write_text(cfg)
    with pytest.raises(ConfigError) as err:
        load_run_config(tmp_path / "bad.toml")
    assert message in str(err.value)
    result = run_train("--config", str(tmp_path / "bad.toml"))
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "run").exists()


def test_impossible_model_and_unknown_sections_are_refused(tmp_path):
    cfg = write_config(tmp_path, tmp_path / "run").read_text()
    (tmp_path / "a.toml").write_text(cfg.replace("ramp = 8", "ramp = 1"))
    with pytest.raises(ConfigError, match="ramp must be > 1"):
        load_run_config(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(cfg + "\n[optimizer]\nname = 'sgd'\n")
    with pytest.raises(ConfigError, match="unknown sections optimizer"):
        load_run_config(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text(cfg.replace('task = "text"', 'task = "chess"'))
    with pytest.raises(ConfigError, match="unknown task 'chess'"):
        load_run_config(tmp_path / "c.toml")


def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path):
    single = write_config(tmp_path, tmp_path / "single")
    assert run_train("--config", str(single)).returncode == 0
    ddp = write_config(tmp_path, tmp_path / "ddp")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "model.train", "--config", str(ddp), "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 process(es)" in result.stdout
    a, b = weights(tmp_path / "single" / "final"), weights(tmp_path / "ddp" / "final")
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4, msg=name)


def test_evaluate_and_model_card_from_a_finished_run(tmp_path):
    cfg = write_config(tmp_path, tmp_path / "run", task="corridor", extra="")
    text = cfg.read_text().replace("max_length = 40", "max_length = 40\neval_length = 30")
    cfg.write_text(text)
    assert run_train("--config", str(cfg)).returncode == 0
    results = tmp_path / "results.json"
    run = lambda *a: subprocess.run([sys.executable, "-m", *a], cwd=ROOT, capture_output=True, text=True,
                                    timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    r = run("model.evaluate", "--task", "corridor", "--checkpoint", str(tmp_path / "run" / "final"),
            "--baseline", str(tmp_path / "run" / "final"), "--results", str(results), "--tokens", "2000")
    assert r.returncode == 0, r.stderr
    entry = json.loads(results.read_text())["corridor"]
    assert 0 <= entry["expire_span"]["error"] <= 1 and entry["expire_span"]["corridor_length"] == 30
    assert len(entry["expire_span"]["cue_span"]) == 2 and entry["baseline"]["trace_seconds_4096"] > 0
    table = (tmp_path / "README.md").read_text()
    assert "| corridor | Expire-Span | error |" in table and "| corridor | Transformer-XL | error |" in table
    r = run("model.card", "--run", str(tmp_path / "run"), "--name", "corridor", "--results", str(results),
            "--out", str(tmp_path / "shipped"), "--trained-on", "a test machine")
    assert r.returncode == 0, r.stderr
    card = (tmp_path / "shipped" / "README.md").read_text()
    assert "trained 6 steps = 384 tokens" in card and "cue_span" in card
    assert ExpireSpanLM.from_pretrained(tmp_path / "shipped").config.max_span == 64
    # a later evaluation (a baseline, a note) refreshes only the card's Results section, run folder gone
    data = json.loads(results.read_text())
    data["corridor"]["notes"] = ["a note added later"]
    results.write_text(json.dumps(data))
    shutil.rmtree(tmp_path / "run")
    r = run("model.card", "--name", "corridor", "--results", str(results), "--out", str(tmp_path / "shipped"),
            "--results-only")
    assert r.returncode == 0, r.stderr
    refreshed = (tmp_path / "shipped" / "README.md").read_text()
    assert "- note: a note added later" in refreshed and "trained 6 steps = 384 tokens" in refreshed
    assert refreshed.count("## Results") == 1 and refreshed.count("## Use") == 1


def test_fine_tuning_starts_from_a_checkpoint_and_refuses_another_architecture(tmp_path):
    source = write_config(tmp_path, tmp_path / "source")
    assert run_train("--config", str(source), "--steps", "2").returncode == 0
    start = tmp_path / "source" / "final"
    # lr so small that one step leaves the weights where they started: the checkpoint's, not a fresh init
    tuned = write_config(tmp_path, tmp_path / "tuned", extra=f'init_from = "{start}"').read_text()
    (tmp_path / "tuned.toml").write_text(tuned.replace("span_loss = 1e-3", "span_loss = 1e-5")
                                         .replace("lr = 1e-3", "lr = 1e-12").replace("steps = 6", "steps = 1"))
    result = run_train("--config", str(tmp_path / "tuned.toml"))
    assert result.returncode == 0, result.stderr
    a, b = weights(start), weights(tmp_path / "tuned" / "final")
    fresh = ExpireSpanLM(load_run_config(tmp_path / "tuned.toml").model).state_dict()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    assert not torch.allclose(fresh["head.weight"], a["head.weight"])

    (tmp_path / "wide.toml").write_text(tuned.replace("d_model = 32", "d_model = 64"))
    with pytest.raises(ConfigError, match="differs from \\[model\\] in d_model"):
        load_run_config(tmp_path / "wide.toml")
    (tmp_path / "missing.toml").write_text(tuned.replace(str(start), str(tmp_path / "nowhere")))
    result = run_train("--config", str(tmp_path / "missing.toml"))
    assert result.returncode == 2 and "has no config.json and model.safetensors" in result.stderr


def test_a_transformer_xl_baseline_can_start_from_an_expire_span_checkpoint(tmp_path):
    source = write_config(tmp_path, tmp_path / "source")
    assert run_train("--config", str(source), "--steps", "2").returncode == 0
    start = tmp_path / "source" / "final"
    tuned = write_config(tmp_path, tmp_path / "txl", extra=f'init_from = "{start}"').read_text()
    txl = (tuned.replace("max_span = 64", "max_span = 24\nexpire_span = false")
           .replace("lr = 1e-3", "lr = 1e-12").replace("steps = 6", "steps = 1"))
    (tmp_path / "txl.toml").write_text(txl)
    result = run_train("--config", str(tmp_path / "txl.toml"))
    assert result.returncode == 0, result.stderr
    a, b = weights(start), weights(tmp_path / "txl" / "final")
    assert {k for k in a if "span_predictor" in k} and not {k for k in b if "span_predictor" in k}
    for name in b:  # every weight it has is its partner's start
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    assert ExpireSpanLM.from_pretrained(tmp_path / "txl" / "final").config.max_span == 24
    # a Transformer-XL's L is not in its weights (key_pe covers one block): it may continue with another L
    (tmp_path / "longer.toml").write_text(txl.replace("max_span = 24", "max_span = 40")
                                          .replace(str(start), str(tmp_path / "txl" / "final")))
    assert load_run_config(tmp_path / "longer.toml").model.max_span == 40
    # only a Transformer-XL may leave expiry behind: an Expire-Span model with another L is another architecture
    (tmp_path / "other.toml").write_text(tuned.replace("max_span = 64", "max_span = 24"))
    with pytest.raises(ConfigError, match="differs from \\[model\\] in max_span"):
        load_run_config(tmp_path / "other.toml")


def test_span_shift_moves_each_layers_span_bias_once_when_fine_tuning_starts(tmp_path):
    """docs/method.md 16.6: span_shift[l] is added to layer l's span-predictor bias before the first step, and
    only there: everything else starts at the checkpoint's weights."""
    source = write_config(tmp_path, tmp_path / "source")
    assert run_train("--config", str(source), "--steps", "2").returncode == 0
    start = tmp_path / "source" / "final"
    tuned = write_config(tmp_path, tmp_path / "shift", extra=f'init_from = "{start}"\nspan_shift = [0.0, 1.5]')
    text = tuned.read_text().replace("lr = 1e-3", "lr = 1e-12").replace("steps = 6", "steps = 1")
    (tmp_path / "shift.toml").write_text(text)
    result = run_train("--config", str(tmp_path / "shift.toml"))
    assert result.returncode == 0, result.stderr
    a, b = weights(start), weights(tmp_path / "shift" / "final")
    for name in a:
        want = a[name] + (1.5 if name == "layers.1.attn.span_predictor.bias" else 0.0)
        torch.testing.assert_close(b[name], want, atol=1e-6, rtol=0)
    # the shift is a fine-tuning setting: one number per layer, finite, within the sigmoid's useful range
    for bad, message in [("[0.0]", "one number per layer"), ('[0.0, "x"]', "list of numbers"),
                         ("[0.0, 9.0]", "list of numbers from -8 to 8"), ("[0.0, nan]", "list of numbers")]:
        (tmp_path / "bad.toml").write_text(text.replace("span_shift = [0.0, 1.5]", f"span_shift = {bad}"))
        with pytest.raises(ConfigError, match=message):
            load_run_config(tmp_path / "bad.toml")
    (tmp_path / "fresh.toml").write_text(text.replace(f'init_from = "{start}"', ""))
    with pytest.raises(ConfigError, match="span_shift needs init_from"):
        load_run_config(tmp_path / "fresh.toml")


def test_cards_say_what_a_model_is_and_where_it_started(tmp_path):
    from model.card import write_card

    run, out = tmp_path / "run", tmp_path / "out"
    run.mkdir()
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"\0" * 1000)
    (run / "metrics.jsonl").write_text(json.dumps({"step": 10, "tokens": 40960, "seconds": 36.0, "tok_per_s": 1}))
    model = {"vocab_size": 256, "n_layers": 4, "d_model": 256, "n_heads": 4, "d_ff": 1024, "block_size": 128,
             "max_span": 300, "ramp": 64, "span_loss": 2e-5, "init_span_fraction": 0.5, "pre_div": 1.0,
             "dropout": 0.0, "pre_norm": False, "expire_span": False, "span_noise": False}
    train = {"lr": 5e-4, "warmup": 200, "grad_clip": 0.3, "batch_size": 32, "seed": 0, "init_from": "runs/a/final"}
    (run / "run_config.json").write_text(json.dumps({"model": model, "data": {"task": "text"}, "train": train}))
    results = {"text": {"expire_span": {"bits": 1.7}, "baseline": {
        "bits": 1.9, "error": 0.4, "kept": 300.0, "trace_seconds_4096": 0.4, "config": {"max_span": 300}}}}
    card = write_card("text-txl", run, out, results, "a 2-core CPU", partner="text",
                      started_from="the text model's first weights")
    assert card.startswith("# Transformer-XL baseline `text-txl`")
    assert "baseline of `text`" in card and "nearest L = 300 memories" in card
    assert "fine-tuned by `python -m model.train` from the text model's first weights" in card
    assert "- bits: 1.9" in card and "- bits: 1.7" not in card  # its own numbers, not its partner's
    (out / "config.json").write_text(json.dumps({**model, "max_span": 280}))  # shipped at its partner's kept memory
    card = write_card("text-txl", run, out, results, "a 2-core CPU", partner="text")
    assert "nearest L = 280 memories (its partner's mean kept memory; trained with L = 300)" in card
    (out / "config.json").unlink()
    model["expire_span"], model["max_span"] = True, 2048
    del train["init_from"]
    (run / "run_config.json").write_text(json.dumps({"model": model, "data": {"task": "text"}, "train": train}))
    card = write_card("text", run, out, results, "a 2-core CPU")
    assert card.startswith("# Expire-Span `text`") and "trained from scratch" in card and "- bits: 1.7" in card
