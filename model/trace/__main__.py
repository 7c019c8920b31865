"""python -m model.trace --checkpoint DIR_OR_REPO_ID --text-file F --out trace.json [--device auto]
[--attention-layer N] [--max-bytes N]

Every failure (unreadable input, an input over --max-bytes, an --out that cannot be written, a bad
checkpoint) ends in one line `error: ...` and exit status 2; Ctrl-C in one line and 130; a closed stdout quietly
in 141 (model/cli.py). The output path is checked before tracing, and the JSON is written whole or not at all.
Inputs longer than two blocks show a progress bar on stderr.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ..cli import command
from ..errors import ExpireSpanError, InputError
from ..expire_span import ExpireSpanLM
from ..files import check_target
from . import BLOCKS_PER_PASS, trace

DEFAULT_MAX_BYTES = 2_000_000  # about a minute on a 2-core CPU with the shipped text model; raise with --max-bytes
MOST_BYTES = 1 << 30  # the largest --max-bytes, and what 0 reads at most: days of tracing on a CPU


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ExpireSpanError("--device cuda was asked for, but torch sees no CUDA GPU here")
    return torch.device(name)


def check_out(path: str) -> Path:
    """--out must name a regular file or nothing yet (never a link, device, FIFO or folder, which os.lstat shows),
    in an existing, writable folder (checked before any work)."""
    out = Path(path)
    check_target(out)
    if out.is_dir():
        raise ExpireSpanError(f"--out {path} is a folder; give a file name such as {out / 'trace.json'}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ExpireSpanError(f"--out {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ExpireSpanError(f"--out {path}: the folder {folder} is not writable")
    return out


def read_input(path: str, max_bytes: int) -> bytes:
    """The input file's bytes, refused (before reading it all) when longer than max_bytes (0: MOST_BYTES)."""
    max_bytes = max_bytes or MOST_BYTES
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise ExpireSpanError(f"cannot read {path}: {e.strerror or e}") from None
    if max_bytes and len(data) > max_bytes:
        raise InputError(f"{path} is longer than --max-bytes {max_bytes:,}; raise the limit (at most {MOST_BYTES:,}) "
                         "or cut it")
    return data


def progress_bar(total: int, block_tokens: int):
    """A tqdm bar on stderr for inputs over two blocks, else None (returns (callback, close))."""
    if total <= block_tokens:
        return None, lambda: None
    bar = tqdm(total=total, unit="tok", unit_scale=True, desc="tracing", file=sys.stderr, mininterval=0.5)

    def update(done, _total):
        bar.update(done - bar.n)
    return update, bar.close


@command
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.trace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder or Hugging Face repo id")
    parser.add_argument("--text-file", required=True, help="input file; its bytes are the tokens")
    parser.add_argument("--out", required=True, help="where to write the trace as JSON")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument("--attention-layer", type=int, default=None,
                        help="also record this layer's attention weights (inputs up to 4,096 tokens)")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                        help=f"refuse longer inputs (default {DEFAULT_MAX_BYTES:,}; 0: the most, {MOST_BYTES:,})")
    args = parser.parse_args(argv)
    try:
        if not 0 <= args.max_bytes <= MOST_BYTES:
            shown = str(args.max_bytes)
            shown = shown if len(shown) <= 20 else f"a number of {len(shown)} digits"
            raise InputError(f"--max-bytes must be from 0 to {MOST_BYTES:,} (got {shown})")
        out = check_out(args.out)
        data = read_input(args.text_file, args.max_bytes)
        device = pick_device(args.device)
        model = ExpireSpanLM.from_pretrained(args.checkpoint, map_location=str(device))
        progress, close = progress_bar(len(data), BLOCKS_PER_PASS * model.config.block_size)
        start = time.perf_counter()
        try:
            result = trace(model, data, attention_layer=args.attention_layer, progress=progress)
        finally:
            close()
        seconds = time.perf_counter() - start
        result.meta = {"checkpoint": args.checkpoint, "device": str(device), "seconds": round(seconds, 3)}
        result.save_json(out)  # a new temporary file beside it, then one rename; refused if out is no file
    except ExpireSpanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"traced {len(result.tokens)} tokens on {device} in {seconds:.2f} s; "
          f"mean memories per block {result.mean_kept:.0f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
