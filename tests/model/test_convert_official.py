"""python -m model.convert_official against golden data from the authors' code (docs/method.md 13): two tiny
checkpoints in their format and the log-probabilities their code gives, block by block (tests/fixtures/official/)."""
import argparse

import pytest
import torch

from model import CheckpointError, ConfigError, ExpireSpanLM
from model.convert_official import convert, main, parse_flags
from model.vocab import build_vocab, encode_bytes
from support import FIXTURES, golden, official_pt

@torch.no_grad()
def block_gaps(model, reference: dict):
    """Largest log-prob gap of every block against the official outputs, and the cache sizes after each."""
    tokens, M = torch.tensor(reference["tokens"])[None], reference["block_size"]
    memory, gaps, sizes = None, [], []
    for start in range(0, tokens.shape[1], M):
        out = model(tokens[:, start:start + M], memory)
        memory = out.memory
        expected = torch.tensor(reference["log_probs"][start:start + M])
        gaps.append(float((out.log_probs[0] - expected).abs().max()))
        sizes.append([layer.position.shape[1] for layer in memory.layers])
    return gaps, sizes


@pytest.mark.parametrize("name", ["post-norm", "pre-norm"])
def test_converted_checkpoint_gives_the_official_outputs_on_every_block(tmp_path, name):
    reference = golden(name)
    out = convert(official_pt(name), reference["flags"], FIXTURES, tmp_path / name)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "vocab.json"]
    model = ExpireSpanLM.from_pretrained(out)
    assert model.config.pre_norm == (name == "pre-norm") and model.config.vocab_size == 34
    gaps, sizes = block_gaps(model, reference)
    assert len(gaps) == 7 and max(gaps) < 1e-4, gaps
    assert sizes == reference["cache_sizes_after_each_block"]  # memories really dropped, exactly as theirs
    card = (out / "README.md").read_text()
    assert reference["flags"] in card and "converted" in card.lower() and "<eos>" in card


def test_the_position_table_is_flipped(tmp_path):
    """Theirs holds distance d in column M - d, ours in column d - 1 (4.3): without the flip outputs differ."""
    reference = golden("post-norm")
    model = ExpireSpanLM.from_pretrained(convert(official_pt("post-norm"), reference["flags"], FIXTURES, tmp_path))
    official = torch.load(official_pt("post-norm"), weights_only=True)["model"]["layers.0.attn.attn.key_pe"]
    torch.testing.assert_close(model.key_pe.data, official[0].flip(-1))
    with torch.no_grad():
        model.key_pe.copy_(official[0])
    assert max(block_gaps(model, reference)[0]) > 1e-3


def test_vocabulary_is_rebuilt_in_the_official_order_and_maps_text_bytes():
    vocab = build_vocab(FIXTURES / "train.txt")
    assert len(vocab) == 34 and vocab[0] == "32" and vocab[-1] == "<unk>" and "<eos>" in vocab
    text = bytes(int(w) for line in (FIXTURES / "train.txt").read_text().splitlines() for w in line.split() + ["10"])
    tokens = golden("post-norm")["tokens"]
    with_eos = {"tokens": vocab, "data_eos": True}
    assert encode_bytes(text, with_eos)[:len(tokens)] == tokens  # line ends as <eos>, as with --data-eos
    without = encode_bytes(b"ab\ncd", {"tokens": vocab, "data_eos": False})
    assert without == [vocab.index("97"), vocab.index("98"), vocab.index("99"), vocab.index("100")]  # dropped
    assert encode_bytes(b"~\xff", with_eos) == [33, 33]  # bytes it never saw: <unk>


def test_ddp_prefix_is_stripped(tmp_path):
    raw = torch.load(official_pt("post-norm"), weights_only=True)
    raw["model"] = {"module." + k: v for k, v in raw["model"].items()}
    torch.save(raw, tmp_path / "ddp.pt")
    reference = golden("post-norm")
    model = ExpireSpanLM.from_pretrained(convert(tmp_path / "ddp.pt", reference["flags"], FIXTURES, tmp_path / "o"))
    assert max(block_gaps(model, reference)[0]) < 1e-4


def test_a_checkpoint_that_needs_full_unpickling_is_refused(tmp_path):
    raw = torch.load(official_pt("post-norm"), weights_only=True)
    raw["args"] = argparse.Namespace(hid_sz=32)  # any object beyond tensors and plain values
    torch.save(raw, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match=r"weights_only=True\) and is refused"):
        convert(tmp_path / "pickled.pt", golden("post-norm")["flags"], FIXTURES, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra, message", [
    ("--adapt-span", "flag --adapt-span is not supported: adaptive span"),
    ("--adapt-span-loss 0.1", "flag --adapt-span-loss is not supported: adaptive span"),
    ("--feedback", "flag --feedback is not supported"),
    ("--rel-pos-bias", "flag --rel-pos-bias is not supported \\(unknown"),
    ("--nheads 4", "flag --head-dim 16 is not supported: the head size must be hid-sz / nheads"),
])
def test_flags_it_cannot_honour_are_refused_by_name(extra, message):
    with pytest.raises(ConfigError, match=message):
        parse_flags(golden("post-norm")["flags"] + " " + extra)


def test_flags_map_to_the_config_and_training_flags_are_ignored():
    values, extra = parse_flags(golden("pre-norm")["flags"] + " --grad-clip=0.3 --full-test --expire-span-noisy")
    assert values == dict(d_model=32, d_ff=64, n_heads=2, n_layers=2, block_size=16, max_span=128, dropout=0.0,
                          ramp=8, init_span_fraction=0.1, pre_div=2.0, span_loss=2e-6, pre_norm=True, span_noise=True)
    assert extra == {"data_eos": True}
    with pytest.raises(ConfigError, match="lack --expire-span"):
        parse_flags("--hid-sz 32 --nlayers 2 --nheads 2 --mem-sz 16 --attn-lim 128")
    with pytest.raises(ConfigError, match="flag --expire-span-ramp is missing"):
        parse_flags("--expire-span --hid-sz 32 --inner-hid-sz 64 --nlayers 2 --nheads 2 --mem-sz 16 --attn-lim 128")


def test_command_line_errors_are_one_line(tmp_path, capsys):
    flags = golden("post-norm")["flags"]
    argv = ["--checkpoint", str(official_pt("post-norm")), "--data", str(FIXTURES), "--out", str(tmp_path / "o")]
    assert main(argv + ["--args", flags + " --adapt-span"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: flag --adapt-span") and err.count("\n") == 1
    assert main(argv + ["--args", flags]) == 0
    assert (tmp_path / "o" / "model.safetensors").is_file()
