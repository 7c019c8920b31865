"""Convert a checkpoint trained with the authors' Expire-Span code into this project's format.

    python -m model.convert_official --checkpoint enwik8.pt --args "<the training command's flags>" \\
        --data DIR --out checkpoints/NAME

Reads the checkpoint (a dict with `model`, `optimizer`, `logger`, `epoch`) with torch.load(weights_only=True)
only: a file that needs full unpickling is refused. Maps the training flags to an ExpireSpanConfig, refusing by
name those it cannot honour; maps the weights (docs/method.md 13); rebuilds the byte vocabulary from
DIR/train.txt (13.3) and writes config.json, model.safetensors, vocab.json and a model card (README.md).
Written from the method's description and the checkpoint format, not from the authors' code.
"""
import argparse
import hashlib
import re
import shlex
import sys
from pathlib import Path

import torch

from .cli import command
from .config import ExpireSpanConfig
from .errors import CheckpointError, ConfigError, ExpireSpanError, InputError
from .expire_span import ExpireSpanLM
from .files import check_folder, check_target, write_atomic
from .vocab import EOS, UNK, ByteVocab, build_vocab, is_byte_token

# Files of a checkpoint made from a training run (model.card) that a converted model does not have: removed when
# converting into such a folder, so nothing beside the new weights describes the old model.
STALE_FILES = ("metadata.json", "run_config.json")

# Flags that set the model: flag -> (config field, type). Booleans take no value.
MODEL_FLAGS = {
    "--hid-sz": ("d_model", int), "--inner-hid-sz": ("d_ff", int), "--nlayers": ("n_layers", int),
    "--nheads": ("n_heads", int), "--mem-sz": ("block_size", int), "--attn-lim": ("max_span", int),
    "--expire-span-ramp": ("ramp", int), "--expire-span-init-percentage": ("init_span_fraction", float),
    "--expire-span-pre-div": ("pre_div", float), "--expire-span-loss": ("span_loss", float),
    "--dropout": ("dropout", float), "--expire-span-noisy": ("span_noise", bool), "--pre-norm": ("pre_norm", bool),
}
# Flags checked or used beside the config: --expire-span must be set, --head-dim must be hid-sz / nheads,
# --data-eos decides whether line ends are tokens (13.3).
OTHER_FLAGS = {"--expire-span": bool, "--head-dim": int, "--data-eos": bool}
# Training-only flags: accepted and ignored (they do not change what a trained model computes); a value after
# one, if any, is skipped with it.
TRAINING_FLAGS = {
    "--lr", "--momentum", "--grad-clip", "--lr-warmup", "--lr-decay", "--optim", "--batch-sz", "--batch-split",
    "--nbatches", "--nepochs", "--data", "--checkpoint", "--checkpoint-freq", "--full-valid", "--full-test",
    "--plot", "--plot-env", "--plot-host", "--distributed", "--local_rank", "--submitit", "--wandb",
    "--wandb-project", "--emb-dropout", "--attn-dropout", "--seed",
}
# Flags that ask for something this model cannot do, with the reason.
REFUSED = {
    "--adapt-span": "adaptive span is another model", "--feedback": "the feedback transformer is another model",
    "--compress": "the compressive transformer is another model", "--model": "only the Expire-Span model converts",
    "--expire-span-layers": "expire-span in only some layers is not supported",
    "--share-keys": "keys shared across layers are not supported",
}


def parse_flags(args: str) -> tuple[dict, dict]:
    """The training flags -> (config fields, {"data_eos": bool}); every problem names its flag."""
    try:
        words = shlex.split(args)
    except ValueError as e:  # an unbalanced quote
        raise ConfigError(f"--args cannot be split into flags: {e}") from None
    values, other = {}, {"--expire-span": False, "--data-eos": False}
    i = 0
    while i < len(words):
        word = words[i]
        flag, has_inline, inline = word.partition("=")
        i += 1
        if not flag.startswith("--"):
            raise ConfigError(f"unexpected argument {word!r} in --args: give the training command's flags")
        kind = MODEL_FLAGS.get(flag, (None, OTHER_FLAGS.get(flag)))[1]
        refused = next((f for f in REFUSED if flag == f or (f != "--model" and flag.startswith(f + "-"))), None)
        if refused:  # the flag itself or one of its family (--adapt-span-loss ...)
            raise ConfigError(f"flag {flag} is not supported: {REFUSED[refused]}")
        if kind is None and flag not in TRAINING_FLAGS:
            raise ConfigError(f"flag {flag} is not supported (unknown to the converter); only Expire-Span model "
                              "flags and known training-only flags are accepted")
        if kind is None:  # training-only
            if not has_inline and i < len(words) and not words[i].startswith("--"):
                i += 1
            continue
        if kind is not bool and not has_inline:
            if i >= len(words) or words[i].startswith("--"):
                raise ConfigError(f"flag {flag} needs a value")
            inline, i = words[i], i + 1
        if kind is bool:
            value = True
        else:
            try:
                value = kind(inline)
            except ValueError:
                raise ConfigError(f"flag {flag} needs a {kind.__name__}, got {inline!r}") from None
        if flag in MODEL_FLAGS:
            values[MODEL_FLAGS[flag][0]] = value
        else:
            other[flag] = value
    if not other["--expire-span"]:
        raise ConfigError("the flags lack --expire-span: only Expire-Span checkpoints convert "
                          "(without it the official code trains a different model)")
    for flag in ("--hid-sz", "--inner-hid-sz", "--nlayers", "--nheads", "--mem-sz", "--attn-lim", "--expire-span-ramp"):
        if MODEL_FLAGS[flag][0] not in values:
            raise ConfigError(f"flag {flag} is missing: the model cannot be rebuilt without it")
    head_dim = other.get("--head-dim")
    if head_dim is not None and head_dim * values["n_heads"] != values["d_model"]:
        raise ConfigError(f"flag --head-dim {head_dim} is not supported: the head size must be hid-sz / nheads "
                          f"({values['d_model']} / {values['n_heads']})")
    return values, {"data_eos": other["--data-eos"]}


def load_official(path: Path) -> dict:
    """The checkpoint dict, read with weights_only=True; anything that needs full unpickling is refused."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint file {path}") from None
    except Exception as e:  # UnpicklingError and friends: a file needing more than tensors and plain values
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path} cannot be read with torch.load(weights_only=True) and is refused, because full unpickling "
            f"can run arbitrary code ({first[:200]}). Re-save it holding tensors and plain values only.") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise CheckpointError(f"{path} is not an official checkpoint: expected a dict with a 'model' state dict")
    return checkpoint


def map_weights(state: dict, cfg: ExpireSpanConfig) -> dict:
    """Official parameter names and layouts -> this model's state dict (13.2); unknown names are refused."""
    state = {str(k).removeprefix("module."): v for k, v in state.items()}  # DistributedDataParallel
    out, used = {}, set()

    def take(name):
        if name not in state:
            raise CheckpointError(f"the checkpoint lacks {name}: it does not fit the flags")
        if not isinstance(state[name], torch.Tensor) or not state[name].is_floating_point():
            raise CheckpointError(f"the checkpoint's {name} is not a floating-point tensor "
                                  f"({type(state[name]).__name__})")
        used.add(name)
        return state[name]

    out["embed.weight"] = take("in_emb.weight")
    out["head.weight"], out["head.bias"] = take("out.out_emb.weight"), take("out.out_emb.bias")
    if cfg.pre_norm:
        out["final_norm.weight"], out["final_norm.bias"] = take("out_norm.weight"), take("out_norm.bias")
    names = {"attn.proj_query.weight": "attn.query.weight", "attn.proj_key.weight": "attn.key.weight",
             "attn.proj_val.weight": "attn.value.weight", "attn.proj_out.weight": "attn.out.weight",
             "attn.attn.expire_span.span_predictor.weight": "attn.span_predictor.weight",
             "attn.attn.expire_span.span_predictor.bias": "attn.span_predictor.bias",
             "ff.fc1.weight": "ff.fc.weight", "ff.fc1.bias": "ff.fc.bias",
             "ff.fc2.weight": "ff.proj.weight", "ff.fc2.bias": "ff.proj.bias",
             "norm1.weight": "norm1.weight", "norm1.bias": "norm1.bias",
             "norm2.weight": "norm2.weight", "norm2.bias": "norm2.bias"}
    key_pe = None
    for layer in range(cfg.n_layers):
        for theirs, ours in names.items():
            out[f"layers.{layer}.{ours}"] = take(f"layers.{layer}.{theirs}")
        table = take(f"layers.{layer}.attn.attn.key_pe")  # one shared table, saved under every layer
        if key_pe is not None and not torch.equal(table, key_pe):
            raise CheckpointError("the layers' position tables differ: only one shared table is supported (4.3)")
        key_pe = table
        used.update(n for n in state if n == f"layers.{layer}.attn.attn.mask_causal")  # a constant buffer
    # 4.3 / 13.2: theirs is 1 x head_dim x M with distance d in column M - d, ours head_dim x M with d in d - 1
    if key_pe.numel() != cfg.head_dim * cfg.block_size:
        raise CheckpointError(f"the checkpoint's position table has {key_pe.numel():,} values, the flags give "
                              f"{cfg.head_dim} x {cfg.block_size}: it does not fit the flags")
    out["key_pe"] = key_pe.reshape(cfg.head_dim, cfg.block_size).flip(-1)
    unused = sorted(set(state) - used)
    if unused:
        raise CheckpointError("the checkpoint has parameters this model cannot use: "
                              f"{', '.join(u[:80] for u in unused[:8])}")
    return {k: v.detach().float().contiguous() for k, v in out.items()}


def inline_code(value, limit: int = 80) -> str:
    """A value from a checkpoint or the command line as one inline code span of the card: one line, at most
    `limit` characters, its backticks replaced, so it can neither end the span nor start a fence or a heading."""
    text = " ".join(str(value).split()).replace("`", "'")
    return f"`{text if len(text) <= limit else text[:limit - 3] + '...'}`"


def fenced(text: str) -> list[str]:
    """A code block around text that no line of it can close: a fence longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def card(source: Path, digest: str, flags: str, epoch, cfg: ExpireSpanConfig, data_eos: bool) -> str:
    ends = ("line ends are the `<eos>` token (trained with `--data-eos`)" if data_eos else
            "line ends are dropped from the input, as the official loader drops them without `--data-eos`")
    epoch = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else inline_code(epoch, 40)
    return "\n".join([
        f"# {inline_code(source.stem)} (converted from the official Expire-Span code)", "",
        f"Converted by `python -m model.convert_official` from {inline_code(source.name)} (sha256 `{digest}`, "
        f"epoch {epoch}),",
        "a checkpoint saved by the authors' training code. The weights are the checkpoint's; this folder adds",
        "nothing learned. Whoever trained them decides their licence.", "",
        "## Training flags", "", *fenced(flags), "",
        "## Model", "",
        f"{cfg.n_layers} layers, d_model {cfg.d_model}, {cfg.n_heads} heads, FF {cfg.d_ff}, M {cfg.block_size}, "
        f"L {cfg.max_span}, R {cfg.ramp}, {'pre' if cfg.pre_norm else 'post'}-norm. Vocabulary: {cfg.vocab_size} "
        f"tokens rebuilt from the training data's `train.txt` (`vocab.json`); {ends}. Bytes the vocabulary lacks "
        "are read as `<unk>`.", "",
    ])


def convert(checkpoint: Path, args: str, data: Path, out: Path) -> Path:
    """Write the converted checkpoint folder and return it."""
    values, extra = parse_flags(args)
    train_txt = Path(data) / "train.txt"
    if not train_txt.is_file():
        raise InputError(f"{train_txt} not found: the vocabulary is rebuilt from the training data's train.txt")
    tokens = build_vocab(train_txt)
    for word in tokens:
        if word not in (EOS, UNK) and not is_byte_token(word):
            raise InputError(f"{train_txt} holds {word[:20]!r}: expected bytes written as integers 0..255 "
                             "(ASCII digits, no sign or leading zero)")
    cfg = ExpireSpanConfig(vocab_size=len(tokens), expire_span=True, **values)
    raw = load_official(Path(checkpoint))
    weights = map_weights(raw["model"], cfg)
    if weights["embed.weight"].dim() != 2 or weights["embed.weight"].shape[0] != len(tokens):
        raise CheckpointError(f"the checkpoint's vocabulary has {weights['embed.weight'].shape[0]} tokens, "
                              f"{train_txt} gives {len(tokens)}: is it the training data?")
    model = ExpireSpanLM(cfg)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        first = " ".join((str(e).strip().splitlines() or [""])[:2]).strip()
        raise CheckpointError(f"the weights do not fit the flags: {first[:300]}") from None
    out = Path(out)
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    check_folder(out)  # a link, device or FIFO in the way is refused before anything is written
    for name in ("config.json", "model.safetensors", "vocab.json", "README.md", *STALE_FILES):
        check_target(out / name)
    out.mkdir(parents=True, exist_ok=True)
    for name in STALE_FILES:  # an earlier checkpoint's: they would describe another model
        (out / name).unlink(missing_ok=True)
    model.byte_vocab = ByteVocab(tuple(tokens), extra["data_eos"])
    model.save_pretrained(out)  # writes vocab.json beside the weights
    write_atomic(out / "README.md", card(Path(checkpoint), digest, args, raw.get("epoch"), cfg, extra["data_eos"]))
    return out


@command
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.convert_official", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="the official checkpoint file (.pt)")
    parser.add_argument("--args", required=True, help="the training command's flags, quoted as one argument")
    parser.add_argument("--data", required=True, help="the training data folder (its train.txt)")
    parser.add_argument("--out", required=True, help="the folder to write")
    a = parser.parse_args(argv)
    try:
        out = convert(Path(a.checkpoint), a.args, Path(a.data), Path(a.out))
    except BrokenPipeError:
        raise  # a closed stdout: quiet (model/cli.py)
    except (ExpireSpanError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
