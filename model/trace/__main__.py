"""python -m model.trace --checkpoint DIR_OR_REPO_ID --text-file F --out trace.json [--device auto]"""
import argparse
import sys
import time

import torch

from ..errors import ExpireSpanError
from ..expire_span import ExpireSpanLM
from . import trace


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ExpireSpanError("--device cuda was asked for, but torch sees no CUDA GPU here")
    return torch.device(name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.trace", description=__doc__)
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder or Hugging Face repo id")
    parser.add_argument("--text-file", required=True, help="input file; its bytes are the tokens")
    parser.add_argument("--out", required=True, help="where to write the trace as JSON")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument("--attention-layer", type=int, default=None,
                        help="also record this layer's attention weights (inputs up to 4,096 tokens)")
    args = parser.parse_args(argv)
    try:
        device = pick_device(args.device)
        model = ExpireSpanLM.from_pretrained(args.checkpoint, map_location=str(device))
        try:
            with open(args.text_file, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ExpireSpanError(f"cannot read {args.text_file}: {e.strerror}") from None
        start = time.perf_counter()
        result = trace(model, data, attention_layer=args.attention_layer)
        seconds = time.perf_counter() - start
        result.meta = {"checkpoint": args.checkpoint, "device": str(device), "seconds": round(seconds, 3)}
        result.save_json(args.out)
    except ExpireSpanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"traced {len(result.tokens)} tokens on {device} in {seconds:.2f} s; "
          f"mean memories per block {result.mean_kept:.0f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
