"""A trace of what a model kept: run an input block by block, exactly as in evaluation, and record
every memory's predicted span, when it actually left its layer's cache, and the loss on each token.

The model's own memory stays bounded by what its spans keep; the trace's arrays grow with the input
(they are the output), by a few dozen bytes a token.
"""
import dataclasses
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..errors import InputError
from ..files import write_atomic
from ..forgetting import Forget
from ..policies import BUDGETED, Policy, default_budget
from .snapshots import Snapshot, Snapshots

LN2 = math.log(2)
MAX_ATTENTION_TOKENS = 4096  # a dense tokens x tokens matrix beyond this is too big to hand around
# M-blocks run in one pass of the model: the results are those of one pass per block (see the model's
# plan_cache). Two per pass halve the many small operations around the multiplies (bench/README.md).
BLOCKS_PER_PASS = 2


@dataclass
class Trace:
    """Per-token, per-layer record of one run. Positions index `tokens`.

    A model converted from the authors' code reads bytes through its byte vocabulary (`model.byte_vocab`,
    docs/method.md 13.3): text or bytes given to it are mapped to its token ids (bytes it never saw become <unk>;
    line ends become <eos> or are dropped, as its vocab.json says), so `tokens` are those ids and every position
    is a token position. `token_bytes` then holds the byte each token stands for (10 for <eos>, -1 for <unk>),
    enough to show the text the model read; `meta["byte_vocab"]` says how line ends were read ("eos" or
    "dropped") and, when text or bytes were fed (not ids), counts the line ends dropped and the bytes read as
    <unk>. For every other model `token_bytes` is None and `meta` has no such entry (a byte-level model's tokens
    are the bytes).
    """
    tokens: np.ndarray       # T, int64
    spans: np.ndarray        # n_layers x T: predicted span e_i (method 2.1); L for every memory without expiry
    dropped_at: np.ndarray   # n_layers x T: first query position at which the memory was gone, -1 if never
    cache_size: np.ndarray   # n_layers x n_blocks: memories the block's queries could see (before it)
    # T, in bits. Next-token mode: bits[i] = -log2 p(token i | tokens before it); bits[0] is NaN (nothing
    # before it), the last token has a value. With targets: the loss of the output at i against
    # targets[i], NaN where targets[i] is -1.
    bits: np.ndarray
    # T: the most likely token (or label) of the output at each position: in next-token mode the guess at
    # token i + 1 (the one bits[i + 1] scores), with targets the guess at targets[i].
    predictions: np.ndarray
    max_span: int
    ramp: int
    block_size: int
    n_layers: int
    expire_span: bool = True
    targets: np.ndarray | None = None    # T: task targets (-1: none); None means next-token prediction
    attention_layer: int | None = None
    attention: np.ndarray | None = None  # T x T: that layer's attention, mean over heads, rows = queries
    span_limit: int | None = None        # a maximum span below L imposed at inference (spans clipped at it)
    meta: dict = field(default_factory=dict)
    token_bytes: np.ndarray | None = None  # T: with a byte vocabulary, the byte each token stands for (-1: <unk>)

    def to_dict(self) -> dict:
        """JSON-ready and strict (no bare NaN): arrays become lists, NaN or infinite values become null."""
        out = {
            "tokens": self.tokens.tolist(),
            "spans": _finite_list(np.round(self.spans, 3)),
            "dropped_at": self.dropped_at.tolist(),
            "cache_size": self.cache_size.tolist(),
            "bits": [round(b, 4) if math.isfinite(b) else None for b in self.bits.tolist()],
            "predictions": self.predictions.tolist(),
            "max_span": self.max_span, "ramp": self.ramp, "block_size": self.block_size,
            "n_layers": self.n_layers, "expire_span": self.expire_span, "span_limit": self.span_limit,
            "meta": self.meta,
        }
        if self.token_bytes is not None:
            out["token_bytes"] = self.token_bytes.tolist()
        if self.targets is not None:
            out["targets"] = self.targets.tolist()
        if self.attention is not None:
            out["attention_layer"] = self.attention_layer
            out["attention"] = _finite_list(np.round(self.attention, 5))
        return out

    def save_json(self, path) -> None:
        """Strict JSON (allow_nan=False: a non-finite number left, in meta say, is an InputError, not a bare NaN),
        written whole or not at all; a path that exists and is not a regular file is refused (OutputError)."""
        try:
            text = json.dumps(self.to_dict(), allow_nan=False)
        except (ValueError, TypeError) as e:
            raise InputError(f"the trace cannot be written as strict JSON (look at its meta): {str(e)[:120]}") from None
        write_atomic(path, text)

    @property
    def mean_kept(self) -> float:
        """Average number of memories a block's queries could see, over layers and blocks."""
        return float(self.cache_size.mean())


def _finite_list(a: np.ndarray) -> list:
    """a.tolist() with NaN and infinities as None (checked first: the usual array has none)."""
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def _int_ids(values, what: str) -> np.ndarray:
    """A flat sequence of whole numbers as int64, or an InputError naming what is wrong with it."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, (str, bytes)):
        raise InputError(f"{what} must be a sequence of integers, not a string")
    try:
        ids = np.asarray(values)
    except (ValueError, TypeError):
        raise InputError(f"{what} must be a flat sequence of integers") from None
    if ids.dtype == object or ids.ndim != 1:
        raise InputError(f"{what} must be a flat sequence of integers")
    if ids.dtype == bool or not (np.issubdtype(ids.dtype, np.integer) or np.issubdtype(ids.dtype, np.floating)):
        if ids.size:
            raise InputError(f"{what} must be integers (got {ids.dtype} values such as {ids[0].item()!r})")
    if ids.size and np.issubdtype(ids.dtype, np.floating):
        whole = np.isfinite(ids) & (ids == np.round(ids))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise InputError(f"{what} must be integers: {ids[i].item()!r} at position {i} is not a whole number")
        if np.abs(ids).max() >= 2 ** 62:
            raise InputError(f"{what} hold a number too large to be a token id")
    return ids.astype(np.int64)


def check_layer(value, n_layers: int, what: str = "attention_layer") -> None:
    """A layer index must be a plain integer (not a bool or a float) in 0..n_layers - 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{what} must be an integer layer index in 0..{n_layers - 1} (got {value!r})")
    if not 0 <= value < n_layers:
        raise InputError(f"{what} must be in 0..{n_layers - 1} (got {value})")


def encode_input(inputs, vocab_size: int, byte_vocab=None) -> np.ndarray:
    """Text (as UTF-8 bytes), bytes, or a sequence of token ids -> int64 ids, or an InputError.
    byte_vocab (a converted model's `model.byte_vocab`): text and bytes go through it (Trace docstring)."""
    if isinstance(inputs, str):
        try:
            inputs = inputs.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(f"the text cannot be written as UTF-8: character {e.object[e.start]!r} at position "
                             f"{e.start} is a lone surrogate, not a character") from None
    if isinstance(inputs, (bytes, bytearray, memoryview)) and byte_vocab is not None:
        ids = byte_vocab.encode(bytes(inputs))
        if ids.size == 0 and len(inputs):
            raise InputError("the input holds only line ends, which this model drops: give some text")
    elif isinstance(inputs, (bytes, bytearray, memoryview)):
        if vocab_size < 256:
            raise InputError(f"this model reads token ids 0..{vocab_size - 1}, not text; give token ids")
        ids = np.frombuffer(bytes(inputs), dtype=np.uint8).astype(np.int64)
    else:
        ids = _int_ids(inputs, "token ids")
    if ids.size == 0:
        raise InputError("the input is empty: give at least one token")
    bad = np.flatnonzero((ids < 0) | (ids >= vocab_size))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"token id {int(ids[i])} at position {i} is outside the vocabulary 0..{vocab_size - 1}")
    return ids


def encode_for(model, inputs) -> np.ndarray:
    """encode_input for a model: through its byte vocabulary when it has one."""
    return encode_input(inputs, model.config.vocab_size, getattr(model, "byte_vocab", None))


def _as_bytes(inputs) -> bytes | None:
    """The UTF-8 bytes of text or bytes input, None for token ids (a lone surrogate is left to encode_input)."""
    if isinstance(inputs, str):
        return inputs.encode("utf-8", "surrogatepass")
    return bytes(inputs) if isinstance(inputs, (bytes, bytearray, memoryview)) else None


class Tracer:
    """Streaming trace: feed pieces of any length; the result equals one run over their concatenation.

    Tokens are held back until a whole pass of BLOCKS_PER_PASS blocks of M is there (the passes do not
    depend on how the input was cut); finish() runs what is left as a last, shorter pass.
    snapshots: a Snapshots to keep the state at pass boundaries in, for a forget to resume from (model/trace/
    resume.py, docs/method.md 18.6); a run with something to forget keeps none.
    """

    def __init__(self, model, attention_layer: int | None = None,
                 progress: Callable[[int, int], None] | None = None, total: int | None = None,
                 span_limit: int | None = None, policy: Policy | str | None = None, forget=None,
                 snapshots: Snapshots | None = None):
        cfg = model.config
        if forget is not None and not isinstance(forget, Forget):
            forget = Forget(tuple(forget))
        if forget is not None:
            forget.check(cfg.n_layers)
        self.forget = forget if forget is not None and forget.ranges else None
        policy = Policy(policy) if isinstance(policy, str) else policy
        if policy is not None and not isinstance(policy, Policy):
            raise InputError(f"policy must be a Policy or a policy name (got {policy!r})")
        # A memory policy other than the model's own (docs/method.md 15), its budget given, else None.
        self.policy = policy if policy is not None and policy.by_rule else None
        if self.policy is not None:
            if span_limit is not None:
                raise InputError("span_limit applies to the model's own spans, not to a memory policy")
            self.policy.budgets(cfg.n_layers, cfg.max_span)  # an InputError if it does not fit
        if span_limit is not None and (isinstance(span_limit, bool) or not isinstance(span_limit, numbers.Integral)):
            raise InputError(f"span_limit must be an integer in 1..{cfg.max_span} (got {span_limit!r})")
        if span_limit is not None and not 1 <= span_limit <= cfg.max_span:
            raise InputError(f"span_limit must be in 1..{cfg.max_span} (got {span_limit})")
        self.span_limit = None if span_limit is None else int(span_limit)
        if attention_layer is not None:
            check_layer(attention_layer, cfg.n_layers)
            attention_layer = int(attention_layer)
        self.model, self.cfg = model, cfg
        self.attention_layer = attention_layer
        self.progress, self.total = progress, total
        self.memory = None
        self.pending_tokens = np.zeros(0, np.int64)
        self.pending_targets = None
        self.with_targets = None  # decided by the first feed
        self.last_log_probs = None  # next-token mode: the previous pass's last row, which predicts the next token
        self.n_done = 0
        self.blocks = []  # per pass: dict of numpy arrays
        self.byte_vocab = getattr(model, "byte_vocab", None)
        self.line_ends_dropped = self.unknown_bytes = 0  # with a byte vocabulary, over text or bytes fed
        self.fed_bytes = False
        if snapshots is not None:
            if self.forget is not None:
                raise InputError("snapshots are kept of a run with nothing to forget")
            if snapshots.settings is not None:
                raise InputError("a Snapshots holds one run's states: give each run its own")
            snapshots.settings = dict(attention_layer=attention_layer, span_limit=self.span_limit,
                                      policy=self.policy)
        self.snapshots = snapshots

    def feed(self, tokens, targets=None) -> None:
        """Text or bytes (through the model's byte vocabulary, if it has one), or token ids."""
        raw = _as_bytes(tokens) if self.byte_vocab is not None else None
        if raw and not self.byte_vocab.data_eos and not raw.strip(b"\n") and targets is None:
            self.fed_bytes, self.line_ends_dropped = True, self.line_ends_dropped + len(raw)
            return  # a piece of only line ends, which this model drops: nothing to read (pieces of any size)
        ids = encode_input(tokens, self.cfg.vocab_size, self.byte_vocab)
        if raw is not None:
            self.fed_bytes = True
            self.unknown_bytes += self.byte_vocab.unknown_bytes(raw)
            self.line_ends_dropped += 0 if self.byte_vocab.data_eos else raw.count(b"\n")
        if targets is not None:
            targets = _int_ids(targets, "targets")
        if self.with_targets is None:
            self.with_targets = targets is not None
            self.pending_targets = np.zeros(0, np.int64) if self.with_targets else None
        if self.with_targets != (targets is not None):
            raise InputError("give targets with every piece or with none")
        if self.with_targets:
            if targets.shape != ids.shape:
                raise InputError(f"targets must match the tokens in length ({targets.shape} vs {ids.shape})")
            if np.any(targets >= self.cfg.vocab_size) or np.any(targets < -1):
                raise InputError(f"targets must be -1 (none) or in 0..{self.cfg.vocab_size - 1}")
            self.pending_targets = np.concatenate([self.pending_targets, targets])
        so_far = self.n_done + len(self.pending_tokens) + len(ids)
        if self.attention_layer is not None and so_far > MAX_ATTENTION_TOKENS:
            raise InputError(f"attention weights are recorded for at most {MAX_ATTENTION_TOKENS} tokens; "
                             "trace a shorter input or leave attention off")
        self.pending_tokens = np.concatenate([self.pending_tokens, ids])
        # a memory policy decides after every block what the next one sees (heavy hitters: from its attention)
        size = (1 if self.policy is not None else BLOCKS_PER_PASS) * self.cfg.block_size
        while len(self.pending_tokens) >= size:
            self._run_pass(size)

    def finish(self) -> Trace:
        if len(self.pending_tokens):
            self._run_pass(len(self.pending_tokens))
        if not self.blocks:
            raise InputError("the input is empty: give at least one token")
        result = self._assemble()
        if self.snapshots is not None:
            self.snapshots.trace = result
        return result

    @torch.inference_mode()
    def _run_pass(self, n: int) -> None:
        model, cfg = self.model, self.cfg
        if self.snapshots is not None and self.n_done:  # the state this pass starts from (18.6)
            last = None if self.last_log_probs is None else self.last_log_probs.clone()  # a row, not its pass
            self.snapshots.add(Snapshot(self.n_done, self.memory, last))
        block, self.pending_tokens = self.pending_tokens[:n], self.pending_tokens[n:]
        if self.with_targets:
            block_targets, self.pending_targets = self.pending_targets[:n], self.pending_targets[n:]
        idx = torch.from_numpy(block)[None].to(model.device)
        if model.training:  # evaluation behaviour; a model already in eval mode is only read (thread-safe)
            model.eval()
            try:
                out = model(idx, self.memory, attention_layer=self.attention_layer, span_limit=self.span_limit,
                            policy=self.policy, forget=self.forget)
            finally:
                model.train()
        else:
            out = model(idx, self.memory, attention_layer=self.attention_layer, span_limit=self.span_limit,
                        policy=self.policy, forget=self.forget)
        self.memory = out.memory
        t0 = self.n_done
        log_probs = out.log_probs[0].float()
        rows = torch.arange(n, device=log_probs.device)

        # What the record needs from the device goes to the host in one copy (each copy is a host sync on a
        # GPU), in this order: predictions, what the bits are made of, then per layer its spans (if it has
        # them) and the positions dropped after each M-block.
        on_device = [log_probs.argmax(-1)]
        if self.with_targets:
            tgt = torch.from_numpy(block_targets).to(log_probs.device)
            on_device += [tgt >= 0, log_probs[rows, tgt.clamp(min=0)]]
        else:
            follows = self.last_log_probs is not None  # the previous pass's last output predicts this pass's first
            if follows:
                on_device.append(self.last_log_probs[block[0]])
            on_device.append(-log_probs[rows[:-1], idx[0, 1:]] / LN2)  # the tokens already on the device
            self.last_log_probs = log_probs[-1]
        for d in out.details:
            on_device += ([] if d.spans is None else [d.spans[0, -n:].float()]) + [g[0] for g in d.dropped]
        host = iter(_to_host(on_device))
        predictions = next(host)

        bits = np.full(n, np.nan, np.float32)
        if self.with_targets:
            scored, lp = next(host), next(host)
            bits[scored] = -lp[scored] / LN2
        else:  # bits[i]: the loss of token i, predicted by the output at i - 1 (none for the very first)
            if follows:
                bits[0] = -float(next(host)) / LN2  # divided in float64 on the host, as before
            bits[1:] = next(host)

        spans, cache, dropped = [], [], []
        block_ends = [min(t0 + end, t0 + n) for end in range(cfg.block_size, n + cfg.block_size, cfg.block_size)]
        for d in out.details:
            spans.append(np.full(n, self.span_limit or cfg.max_span, np.float32) if d.spans is None else next(host))
            cache.append(d.seen)
            gone = [next(host) for _ in d.dropped]
            dropped.append([(end, g[g >= 0]) for end, g in zip(block_ends, gone, strict=True)])
        record = {"t0": t0, "n": n, "bits": bits, "spans": np.stack(spans), "cache": cache, "dropped": dropped,
                  "predictions": predictions, "tokens": block}
        if self.with_targets:
            record["targets"] = block_targets
        if self.attention_layer is not None:
            d = out.details[self.attention_layer]
            record["attention"] = d.attention[0].mean(0).float().cpu().numpy()  # T x S
            record["key_position"] = d.key_position[0].cpu().numpy()
        self.blocks.append(record)
        self.n_done += n
        if self.progress is not None:
            self.progress(self.n_done, max(self.total or 0, self.n_done))

    def _assemble(self) -> Trace:
        cfg, blocks = self.cfg, self.blocks
        T = self.n_done
        dropped_at = np.full((cfg.n_layers, T), -1, np.int64)
        for b in blocks:
            for layer, drops in enumerate(b["dropped"]):
                for end, positions in drops:
                    dropped_at[layer, positions] = end  # gone from the next block's first query on
        cache_size = np.concatenate([np.array(b["cache"], np.int64) for b in blocks], axis=1)
        if self.forget is not None:
            self._forced_out(dropped_at, cache_size)
        attention = None
        if self.attention_layer is not None:
            attention = np.zeros((T, T), np.float32)
            for b in blocks:
                keys = b["key_position"]
                real = keys >= 0  # the start state's zero memories are not tokens
                attention[b["t0"]:b["t0"] + b["n"], keys[real]] = b["attention"][:, real]
        return Trace(
            tokens=np.concatenate([b["tokens"] for b in blocks]),
            spans=np.concatenate([b["spans"] for b in blocks], axis=1),
            dropped_at=dropped_at,
            cache_size=cache_size,
            bits=np.concatenate([b["bits"] for b in blocks]),
            predictions=np.concatenate([b["predictions"] for b in blocks]).astype(np.int64),
            max_span=cfg.max_span, ramp=cfg.ramp, block_size=cfg.block_size, n_layers=cfg.n_layers,
            expire_span=cfg.expire_span,
            targets=np.concatenate([b["targets"] for b in blocks]) if self.with_targets else None,
            attention_layer=self.attention_layer, attention=attention, span_limit=self.span_limit,
            **self._extra_fields(np.concatenate([b["tokens"] for b in blocks])),
        )

    def _forced_out(self, dropped_at: np.ndarray, cache_size: np.ndarray) -> None:
        """Forgotten memories (docs/method.md 18.3), in place: gone from the query after them on (dropped_at = own
        position + 1), and not counted among the memories a block's queries could see, though the cache may
        still hold them until their span ends."""
        T, M = dropped_at.shape[1], self.cfg.block_size
        starts = np.arange(cache_size.shape[1]) * M
        for layer in range(self.cfg.n_layers):
            gone = np.zeros(T, bool)
            for start, end in self.forget.in_layer(layer):
                gone[start:min(end, T)] = True
            positions = np.nonzero(gone)[0]
            if not len(positions):
                continue
            natural = dropped_at[layer, positions]
            # held at block k's first query: read before it and not yet dropped by the model's own rule
            read = positions[None, :] < starts[:, None]
            held = read & ((natural[None, :] < 0) | (natural[None, :] > starts[:, None]))
            cache_size[layer] -= held.sum(1)
            dropped_at[layer, positions] = positions + 1

    def _extra_fields(self, tokens: np.ndarray) -> dict:
        """token_bytes and meta["byte_vocab"] for a model with a byte vocabulary (see Trace); meta["policy"]
        under a memory policy other than the model's own (what it resolved to); nothing otherwise."""
        meta = {}
        if self.policy is not None:
            meta["policy"] = self.policy.describe(self.cfg.n_layers, self.cfg.max_span)
        if self.forget is not None:
            meta["forget"] = self.forget.describe()
        if self.byte_vocab is None:
            return {"meta": meta} if meta else {}
        info = {"line_ends": "eos" if self.byte_vocab.data_eos else "dropped"}
        if self.fed_bytes:  # counted only over text or bytes: token ids carry no line ends or unknown bytes
            info.update(line_ends_dropped=self.line_ends_dropped, unknown_bytes=self.unknown_bytes)
        meta["byte_vocab"] = info
        return {"token_bytes": self.byte_vocab.byte_of[tokens], "meta": meta}


def _to_host(tensors: list[torch.Tensor]) -> list[np.ndarray]:
    """The tensors as numpy arrays (dtypes and shapes kept) through one device-to-host copy, not one each:
    their bytes are joined on the device, copied, and split again on the host."""
    flat = [t.contiguous().view(-1).view(torch.uint8) for t in tensors]
    packed = torch.cat(flat).cpu()
    # clone: a view as a wider dtype needs an aligned start
    return [part.clone().view(t.dtype).reshape(t.shape).numpy()
            for t, part in zip(tensors, packed.split([f.numel() for f in flat]), strict=True)]


def trace(model, inputs, targets=None, attention_layer: int | None = None,
          progress: Callable[[int, int], None] | None = None, span_limit: int | None = None,
          policy: Policy | str | None = None, forget=None, snapshots: Snapshots | None = None) -> Trace:
    """Trace `inputs` (text, bytes or token ids) through `model` block by block with its cache; a model with a
    byte vocabulary reads text and bytes through it (see Trace).

    targets: per-token task targets (-1 where none); bits[i] is then the loss of the output at i against
        targets[i]. Without targets (next-token prediction), bits[i] is the loss of token i given the tokens
        before it: -log2 p(token i | tokens 0..i-1); bits[0] is NaN, the last token has a value.
    attention_layer: also record that layer's attention weights (inputs of at most 4,096 tokens).
    progress: called as progress(tokens_done, tokens_total) after every block.
    span_limit: cut the maximum span to this at inference (paper Figure 9).
    policy: run the model's memory under a memory policy (model/policies.py; a Policy or a name; docs/method.md
        15): spans are still the model's predictions, dropped_at, cache_size and bits follow the policy, and
        meta["policy"] says what it resolved to. A budgeted policy without a budget gets the default, this
        model's own mean visible memories per layer on these inputs (policies.default_budget), from a plain
        trace run first (progress reports the policy's run only). "expire-span" is the plain trace.
    forget: memories to force out, a Forget or its (layer or None, start, end) ranges (model/forgetting.py,
        docs/method.md 18): from the moment it is read, no later query of those layers sees a token in a range;
        dropped_at and cache_size say so, and meta["forget"] records the ranges. Works with every policy.
    snapshots: a Snapshots (model/trace/snapshots.py) to fill with the run's state at pass boundaries, from which
        model.trace.resume.forget_trace later forgets without reading the whole input again (docs/method.md 18.6).
    """
    ids = encode_for(model, inputs)
    policy = Policy(policy) if isinstance(policy, str) else policy
    if isinstance(policy, Policy) and policy.name in BUDGETED and policy.budget is None:
        if span_limit is not None:
            raise InputError("span_limit applies to the model's own spans, not to a memory policy")
        plain = trace(model, inputs, targets)
        policy = dataclasses.replace(policy, budget=tuple(default_budget(plain)))
    tracer = Tracer(model, attention_layer=attention_layer, progress=progress, total=len(ids), span_limit=span_limit,
                    policy=policy, forget=forget, snapshots=snapshots)
    mapped = tracer.byte_vocab is not None and _as_bytes(inputs) is not None
    tracer.feed(inputs if mapped else ids, targets)  # text through the byte vocabulary is counted (Trace.meta)
    return tracer.finish()
