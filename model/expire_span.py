"""The Expire-Span language model, as described in docs/method.md (sections 1-8).

Section numbers in comments refer to that page. With `config.expire_span = False` the same code is the
Transformer-XL baseline: every layer keeps the nearest L memories (7.5).
"""
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ExpireSpanConfig
from .errors import InputError
from .forgetting import Forget, forgotten
from .hub import SafetensorsHubMixin
from .policies import Policy, Rule, received


@dataclass
class LayerMemory:
    """One layer's cache (1.1): its cached inputs and the absolute position of each.

    Counters (1.4) are `t0 - position`, with t0 the first query position of the current block, so
    advancing t0 by a block advances every counter by the block length.
    """
    hidden: torch.Tensor    # B x N x H
    position: torch.Tensor  # B x N, int64
    # Evaluation only: keys, values and spans of `hidden`. With fixed weights they never change (2.3),
    # so keeping them saves recomputing them every block; training always recomputes from `hidden`.
    projected: tuple | None = None
    # Under the heavy-hitters memory policy only: B x N, the attention each memory has received so far (15.3).
    score: torch.Tensor | None = None


@dataclass
class Memory:
    layers: list[LayerMemory]
    t0: int  # position of the next block's first token

    def counters(self, layer: int) -> torch.Tensor:
        return self.t0 - self.layers[layer].position


@dataclass
class LayerDetails:
    """What one layer did with one pass (one block, or several in evaluation), for tracing (batch row b in
    every tensor)."""
    spans: torch.Tensor | None        # B x (N + T): predicted span of every key (2.1), None without expiry
    key_position: torch.Tensor        # B x (N + T)
    dropped: list[torch.Tensor]       # per M-block of the pass: B x D positions that left the cache after it
    seen: list[int]                   # per M-block of the pass: memories its queries could see (cache size)
    attention: torch.Tensor | None = None  # B x K x T x (N + T), only when asked


@dataclass
class ModelOutput:
    log_probs: torch.Tensor           # B x T x V
    memory: Memory
    loss: torch.Tensor | None = None  # mean task loss (nats) over positions with a target
    span_loss: torch.Tensor | None = None  # auxiliary loss (5.1), already scaled by alpha
    details: list[LayerDetails] = field(default_factory=list)


def position_scores(q: torch.Tensor, key_pe: torch.Tensor, S: int) -> torch.Tensor:
    """The key-side position term (4.3) for all S keys: B x K x T x S, q_t . key_pe[:, d - 1] where the
    distance d is 1..M, else 0.

    The T queries are the last T keys, and the cache ends with the positions just before the block (the
    last M never go, 7.2; the baseline keeps the nearest ones, 7.5), so distance d of query t lies in
    column S - T + t - d. Each row is q_t @ key_pe reversed and shifted one column further than the row
    before: a skew, made by padding every row to S + 1 columns and reading the result as rows of S. A
    cache shorter than M (the baseline with a short L at inference) is scored as if it were M long, and
    the columns it lacks are left out.
    """
    B, K, T, _ = q.shape
    M = key_pe.shape[1]
    width = max(S, T + M)
    reversed_scores = q @ key_pe.flip(-1)                        # B K T M: column j is distance M - j
    padded = F.pad(reversed_scores, (width - T - M, T + 1))      # B K T (width + 1)
    return padded.view(B, K, T * (width + 1))[..., : T * width].view(B, K, T, width)[..., width - S:]


def position_scores_at(q: torch.Tensor, key_pe: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """The position term (4.3) read by each key's own distance (B x T x S): B x K x T x S, q_t . key_pe[:, d - 1]
    for d in 1..M, else 0. For a memory policy's cache, which need not end with the M positions before the
    block (15.2), so the skew of position_scores does not apply."""
    B, K, T, _ = q.shape
    M, S = key_pe.shape[1], distance.shape[-1]
    d = distance.long()
    index = (d - 1).clamp(0, M - 1)[:, None].expand(B, K, T, S)
    return (q @ key_pe).gather(-1, index).masked_fill_(((d < 1) | (d > M))[:, None], 0)


def soft_mask(remaining: torch.Tensor, ramp: int) -> torch.Tensor:
    """m = clamp(1 + r / R, 0, 1) (3.2): 1 while unexpired, falling to 0 over R steps."""
    return (1 + remaining / ramp).clamp(0, 1)


class ExpireSpanAttention(nn.Module):
    def __init__(self, cfg: ExpireSpanConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.query = nn.Linear(d, d, bias=False)  # 8.3: no biases
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.out = nn.Linear(d, d, bias=False)
        self.dropout = nn.Dropout(cfg.dropout)
        if cfg.expire_span:
            self.span_predictor = nn.Linear(d, 1)  # 2.1: one per layer, shared by its heads

    def predict_spans(self, kv_in: torch.Tensor) -> torch.Tensor:
        """e_i = L * sigmoid(w . (h_i / pre_div) + b) (2.1), recomputed every block (2.3)."""
        scaled = kv_in if self.cfg.pre_div == 1 else kv_in / self.cfg.pre_div
        logits = self.span_predictor(scaled).squeeze(-1)
        return self.cfg.max_span * torch.sigmoid(logits)

    def project(self, kv_in: torch.Tensor) -> tuple:
        """Keys, values and spans (None without expiry) of cached inputs."""
        spans = self.predict_spans(kv_in) if self.cfg.expire_span else None
        return self.key(kv_in), self.value(kv_in), spans

    def forward(self, x, projected, distance, unseen, key_pe, span_cap=None, want_attention=False, by_rule=False,
                by_distance=False):
        """x: B x T x H queries' inputs; projected: keys, values (B x S x H) and spans (B x S) of the
        cache and the block; distance: B x T x S, query position minus key position; unseen: B x T x S,
        True for the keys a query may not see whatever its mask: itself and later ones (4.2), and
        (baseline) those its own block's cache no longer holds. by_rule: a memory policy holds the cache
        (15.2), so no span mask; by_distance: its cache does not end with the positions just before the block,
        so the position term is read by each key's distance."""
        cfg = self.cfg
        B, T, _ = x.shape
        keys, values, spans = projected
        S = keys.shape[1]
        K, hd = cfg.n_heads, cfg.head_dim
        q = self.query(x).view(B, T, K, hd).transpose(1, 2)        # B K T hd
        k = keys.view(B, S, K, hd).transpose(1, 2)                 # B K S hd
        v = values.view(B, S, K, hd).transpose(1, 2)

        scale = 1 / math.sqrt(hd)
        expire = cfg.expire_span and not by_rule

        def positions(table):  # 4.3
            return position_scores_at(q, table, distance) if by_distance else position_scores(q, table, S)

        remaining = None
        if expire:
            used = spans if span_cap is None else spans.clamp(max=span_cap)  # 6.1
            remaining = used[:, None, :] - distance                  # 3.1: r_ti = e_i - (t - i)

        weights = None
        if self.training or want_attention:
            # 4.4, in this order: -inf where the mask is 0, scale, softmax, mask, renormalise, dropout.
            visible = ~unseen
            mask = (soft_mask(remaining, cfg.ramp) * visible if expire else visible.to(q.dtype))[:, None]
            scores = q @ k.transpose(-1, -2) + positions(key_pe)  # 4.1, 4.3: B K T S
            scores = scores.masked_fill(mask == 0, float("-inf")) * scale
            attn = torch.softmax(scores, dim=-1) * mask
            attn = attn / (attn.sum(-1, keepdim=True) + 1e-8)
            weights = attn.detach() if want_attention else None
            y = self.dropout(attn) @ v
        else:
            # Evaluation: softmax times the mask, renormalised, is softmax(scores + log mask) (4.5 equals
            # 4.4 up to its 1e-8), which one fused kernel computes without the B x K x T x S passes.
            # log m = log1p(clamp(r / R, -1, 0)) (3.2), -inf once expired or unseen (log1p(-1)); in place.
            if expire:
                log_mask = remaining.div_(cfg.ramp).clamp_(-1, 0).masked_fill_(unseen, -1).log1p_()
            else:
                log_mask = torch.zeros(distance.shape, dtype=q.dtype, device=q.device)
                log_mask.masked_fill_(unseen, float("-inf"))
            log_mask = log_mask[:, None]  # B 1 T S, for every head
            bias = positions(key_pe * scale).add_(log_mask)  # in place: a view of a fresh tensor
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        y = y.transpose(1, 2).reshape(B, T, cfg.d_model)

        span_loss = None
        if cfg.expire_span and self.training:
            # 5.1: only memories on the ramp are charged, by their (negative) remaining span.
            on_ramp = (mask > 0) & (mask < 1)
            charged = (remaining[:, None] * on_ramp).sum(dim=(1, 2, 3))
            span_loss = (cfg.span_loss / (cfg.ramp * cfg.block_size)) * charged.mean()
        return self.out(y), span_loss, weights


class FeedForward(nn.Module):
    def __init__(self, cfg: ExpireSpanConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, cfg.d_ff)
        self.proj = nn.Linear(cfg.d_ff, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.proj(self.dropout(F.relu(self.fc(x), inplace=True)))  # 8.3


class Layer(nn.Module):
    """A post-norm (8.1) or pre-norm (8.2) transformer layer over its own memory cache."""

    def __init__(self, cfg: ExpireSpanConfig):
        super().__init__()
        self.cfg = cfg
        self.attn = ExpireSpanAttention(cfg)
        self.ff = FeedForward(cfg)
        self.norm1 = nn.LayerNorm(cfg.d_model)
        self.norm2 = nn.LayerNorm(cfg.d_model)

    def forward(self, h, memory: LayerMemory, t0, key_pe, span_cap=None, want_attention=False, span_limit=None,
                rule: Rule | None = None, forget: list[tuple[int, int]] | None = None):
        B, T, _ = h.shape
        if rule is not None:  # a memory policy holds this layer's cache (15.2)
            memory = rule_memory(memory, rule)
        x = self.norm1(h) if self.cfg.pre_norm else h  # the queries' input (8.1, 8.2)
        block_position = torch.arange(t0, t0 + T, device=h.device).expand(B, T)
        raw = torch.cat([memory.hidden, h], dim=1)  # 1.2: the cache holds raw layer inputs
        key_position = torch.cat([memory.position, block_position], dim=1)
        # t - i from positions relative to the block, which are small (the cache reaches about L back), so
        # exact in float32
        relative = (key_position - t0).to(h.dtype)
        distance = torch.arange(T, device=h.device, dtype=h.dtype)[None, :, None] - relative[:, None, :]
        unseen = distance < 1  # 4.2: never itself, never later
        if forget:  # 18.1: a forgotten token is no key for any later query of this layer
            unseen = unseen | forgotten(forget, key_position)[:, None, :]
        M = self.cfg.block_size
        if T > M and not self.cfg.expire_span:
            # A pass of several M-blocks (evaluation): after the first, a query sees the nearest L before
            # its own M-block (7.5), as in one pass per block. With expiry nothing is needed: what a block
            # boundary drops has expired for every later query (7.1), so its mask is 0 anyway.
            block_start = t0 + torch.arange(T, device=h.device) // M * M
            too_old = key_position[:, None, :] < (block_start - (span_limit or self.cfg.max_span))[None, :, None]
            unseen |= too_old & (block_start > t0)[None, :, None]
        if memory.projected is None or self.training:
            # 1.2: pre-norm normalises the cache with the current norm1 at use (start memories: norm1(0), 1.5)
            kv_in = torch.cat([self.norm1(memory.hidden), x], dim=1) if self.cfg.pre_norm else raw
            projected = self.attn.project(kv_in)
        else:  # evaluation: project only the new block
            projected = tuple(None if old is None else torch.cat([old, new], dim=1)
                              for old, new in zip(memory.projected, self.attn.project(x)))
        if span_limit is not None and projected[2] is not None:  # a shorter maximum span at inference
            projected = (projected[0], projected[1], projected[2].clamp(max=span_limit))
        needs_weights = want_attention or (rule is not None and rule.needs_scores)
        by_distance = rule is not None and not ends_before(memory.position, t0, M)
        a, span_loss, weights = self.attn(x, projected, distance, unseen, key_pe, span_cap, needs_weights,
                                          by_rule=rule is not None, by_distance=by_distance)
        if forget:  # 18.2: a query left with no key at all reads nothing (its softmax is over no key)
            a = a.nan_to_num(0.0)
            weights = None if weights is None else weights.nan_to_num(0.0)
        spans = projected[2]
        if self.cfg.pre_norm:
            h2 = h + a
            out = h2 + self.ff(self.norm2(h2))
        else:
            h2 = self.norm1(h + a)
            out = self.norm2(h2 + self.ff(h2))
        keep_projected = None if self.training else projected
        if rule is None:
            update = plan_cache(raw, key_position, spans, t0, self.cfg, keep_projected, span_limit,
                                n_cached=memory.position.shape[1])
        else:
            score = None
            if rule.needs_scores:  # 15.3: what each entry has received, this block's queries included
                score = torch.cat([memory.score, memory.score.new_zeros(B, T)], dim=1) + received(weights).float()
            update = CacheCut(*update_memory_by_rule(raw, key_position, rule, keep_projected, score,
                                                     n_cached=memory.position.shape[1]))
        # dropped and seen are filled in when the update is finished (ExpireSpanLM.forward)
        details = LayerDetails(spans, key_position, [], [], weights if want_attention else None)
        return out, update, span_loss, details


@dataclass
class CacheUpdate:
    """A layer's cache after a pass, decided on the device but not yet cut (section 7): the cut needs to know how
    many memories went, and on a GPU reading that number makes the host wait for the device. So every layer
    decides first and ExpireSpanLM.forward reads all their numbers in one copy (`read_counts`), then each
    layer's `finish` cuts its cache (one wait a pass instead of one per layer and M-block)."""
    kv_in: torch.Tensor                 # B x S x H, the cache and the pass's tokens
    key_position: torch.Tensor          # B x S
    projected: tuple | None             # keys, values and spans of kv_in (evaluation), else None
    starts: list[int]                   # first column of each M-block of the pass
    n_drop: list                        # per M-block: how many went after it, an int, or a 0-d tensor on the device
    drops: list                         # per M-block: B x end bool, True where a memory went after it (Expire-Span);
                                        # None where the oldest n_drop columns went (the baseline)
    held: torch.Tensor | None = None    # B x S, the columns still held (Expire-Span)

    def on_device(self) -> list[torch.Tensor]:
        return [n for n in self.n_drop if isinstance(n, torch.Tensor)]

    def finish(self, counts: list[int]) -> tuple[LayerMemory, list[torch.Tensor], list[int]]:
        """The cut cache, the positions dropped after each M-block (B x D each) and the memories each M-block's
        queries saw, given the on-device counts read on the host (in the order of on_device)."""
        counts = iter(counts)
        n_drop = [next(counts) if isinstance(n, torch.Tensor) else n for n in self.n_drop]
        B, S = self.key_position.shape
        dropped, seen, gone = [], [], 0
        for start, n, drop in zip(self.starts, n_drop, self.drops, strict=True):
            seen.append(start - gone)
            if drop is None or n == 0:  # the oldest columns still held (or none)
                dropped.append(self.key_position[:, gone:gone + n])
            else:  # drop's n columns per row, in order, without a bool-mask index (a host sync on a GPU): a
                # stable sort puts the True columns first, in their order
                cols = torch.argsort((~drop).to(torch.uint8), dim=1, stable=True)[:, :n]
                dropped.append(self.key_position[:, :drop.shape[1]].gather(1, cols))
            gone += n
        N = S - gone
        if self.held is None or gone == 0:
            def keep(t):
                return None if t is None else t.detach()[:, gone:]
        else:
            # Row-major flat indices (batch row b's entries start at b * S), so one index_select keeps whole rows;
            # their number, B * N, is known on the host, so nonzero_static needs no host sync (nonzero does).
            keep_flat = torch.nonzero_static(self.held.view(-1), size=B * N).squeeze(1)

            def keep(t):
                return None if t is None else t.detach().flatten(0, 1).index_select(0, keep_flat).view(
                    B, N, *t.shape[2:])
        projected = None if self.projected is None else tuple(keep(t) for t in self.projected)
        return LayerMemory(keep(self.kv_in), keep(self.key_position), projected), dropped, seen


@dataclass
class CacheCut:
    """A layer's cache already cut on the host (a memory policy's rule, 15.2), in CacheUpdate's terms."""
    memory: LayerMemory
    dropped: list[torch.Tensor]
    seen: list[int]

    def on_device(self) -> list[torch.Tensor]:
        return []

    def finish(self, counts: list[int]) -> tuple[LayerMemory, list[torch.Tensor], list[int]]:
        return self.memory, self.dropped, self.seen


def read_counts(updates: list[CacheUpdate]) -> list[list[int]]:
    """Every update's on-device counts, read on the host in one copy (none when all are known there)."""
    wanted = [update.on_device() for update in updates]
    flat = [n for counts in wanted for n in counts]
    values = iter(torch.stack(flat).tolist() if flat else [])
    return [[next(values) for _ in counts] for counts in wanted]


def plan_cache(kv_in, key_position, spans, t0, cfg: ExpireSpanConfig, projected=None, span_limit=None,
               n_cached=None) -> CacheUpdate:
    """What leaves the cache after a pass (section 7), decided without reading anything back from the device:
    the cache (kv_in's first n_cached columns, by default all but the last M) and the pass's tokens, taken M at
    a time. CacheUpdate.finish then cuts it.

    kv_in: the raw layer inputs (1.2). Expire-Span: memory i may go once s_i + R - T <= 0 with
    s_i = e_i - counter_i (un-noised spans) and T the M-block's real length (7.1, 14.5); the last M entries
    never go (7.2); each row drops the same number, the batch minimum rounded down to a multiple of M,
    taking its oldest droppable memories (7.3, 14.2). Baseline: nearest L (7.5).
    The rule runs after every M-block on the columns still held, and the cache is cut once at the end,
    so a pass of several M-blocks (evaluation) leaves exactly what one pass per block leaves. Its
    outputs are those of one pass per block too: a memory dropped after an M-block has expired for
    every later query (7.1), so its weight is 0 whether it is still there or not. Caches are detached (1.3).
    """
    B, S = key_position.shape
    M = cfg.block_size
    n_cached = max(S - M, 0) if n_cached is None else n_cached
    starts = list(range(n_cached, S, M))
    update = CacheUpdate(kv_in, key_position, projected, starts, [], [])
    if not cfg.expire_span:  # the oldest beyond the nearest L go: always the first columns still held
        gone = 0
        for start in starts:
            n = max(min(start + M, S) - gone - (span_limit or cfg.max_span), 0)
            update.n_drop.append(n)
            update.drops.append(None)
            gone += n
        return update
    held = update.held = torch.ones(B, S, dtype=torch.bool, device=key_position.device)
    for start in starts:
        end = min(start + M, S)
        counter = t0 + (start - n_cached) - key_position[:, :end]
        # 7.1 with this M-block's real length T = end - start (shorter than M for a last, partial block):
        # the next query is T after this block's first, so mask 0 there means s_i + R - T <= 0
        droppable = (spans[:, :end].detach() - counter + cfg.ramp - (end - start)) <= 0
        droppable[:, max(end - M, 0):] = False
        droppable &= held[:, :end]
        n = droppable.sum(dim=1).min() // M * M  # on the device: 0 drops nothing below
        drop = droppable & (droppable.cumsum(dim=1) <= n)  # the oldest n droppable ones
        held[:, :end] &= ~drop
        update.n_drop.append(n)
        update.drops.append(drop)
    return update


def update_memory(kv_in, key_position, spans, t0, cfg: ExpireSpanConfig, projected=None, span_limit=None,
                  n_cached=None) -> tuple[LayerMemory, list[torch.Tensor], list[int]]:
    """plan_cache and its finish in one call (one read from the device): the cut cache, the positions dropped
    after each M-block and the memories each M-block's queries saw."""
    update = plan_cache(kv_in, key_position, spans, t0, cfg, projected, span_limit, n_cached)
    return update.finish(read_counts([update])[0])


def ends_before(position: torch.Tensor, t0: int, M: int) -> bool:
    """Whether a cache's last min(N, M) entries are the positions just before t0 in order, as position_scores
    needs (4.3): always for Expire-Span (7.2) and the baseline (7.5); for a memory policy, only sometimes."""
    m = min(position.shape[1], M)
    expected = torch.arange(t0 - m, t0, device=position.device)
    return bool((position[:, position.shape[1] - m:] == expected).all())


def _columns(keep: torch.Tensor):
    """A function that cuts B x S (x ...) tensors to the columns True in keep (as many in every row),
    detached; None stays None."""
    B = keep.shape[0]
    N = int(keep[0].sum())
    flat = keep.reshape(-1).nonzero().squeeze(1)  # row-major: batch row b's columns start at b * S

    def cut(t):
        return None if t is None else t.detach().flatten(0, 1).index_select(0, flat).view(B, N, *t.shape[2:])
    return cut


def rule_memory(memory: LayerMemory, rule: Rule) -> LayerMemory:
    """A cache as a memory policy's rule takes it (15.2): with scores (zeros to start) where the rule
    needs them, and cut to the budget when it holds more (the start state's M zero memories, 1.5)."""
    if rule.needs_scores and memory.score is None:
        memory = LayerMemory(memory.hidden, memory.position, memory.projected,
                             torch.zeros(memory.position.shape, device=memory.position.device))
    if memory.position.shape[1] <= rule.budget:
        return memory
    cut = _columns(rule.keep(memory.position, memory.score))
    projected = None if memory.projected is None else tuple(cut(t) for t in memory.projected)
    return LayerMemory(cut(memory.hidden), cut(memory.position), projected, cut(memory.score))


def update_memory_by_rule(kv_in, key_position, rule: Rule, projected=None, score=None, n_cached=None):
    """The cache after one block under a memory policy (15.2), in place of plan_cache (section 7): the
    rule keeps at most its budget of the cache and the block together; the rest go now, so no later query
    sees them. Returns what CacheUpdate.finish returns, for the one block. Caches are detached (1.3)."""
    B = key_position.shape[0]
    keep = rule.keep(key_position, score)
    dropped = [key_position[~keep].view(B, -1)]
    cut = _columns(keep)
    projected = None if projected is None else tuple(cut(t) for t in projected)
    return LayerMemory(cut(kv_in), cut(key_position), projected, cut(score)), dropped, [n_cached]


class ExpireSpanLM(nn.Module, SafetensorsHubMixin):
    """Byte-level (or task-vocabulary) language model with Expire-Span memory in every layer."""

    def __init__(self, config: ExpireSpanConfig):
        super().__init__()
        if isinstance(config, dict):
            config = ExpireSpanConfig.from_dict(config)
        self.config = cfg = config
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        # 4.3: one key-side position embedding, head_dim x M, shared by all heads and layers.
        self.key_pe = nn.Parameter(torch.randn(cfg.head_dim, cfg.block_size) * cfg.position_init)  # 14.7
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.n_layers))
        self.final_norm = nn.LayerNorm(cfg.d_model) if cfg.pre_norm else nn.Identity()
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size)  # 8.3: untied from the embedding
        self.reset_parameters()

    def reset_parameters(self):
        cfg = self.config
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
        for layer in self.layers:
            if cfg.expire_span:  # 2.2: w = 0, b = logit(p), so every span starts at p * L
                p = cfg.init_span_fraction
                nn.init.zeros_(layer.attn.span_predictor.weight)
                nn.init.constant_(layer.attn.span_predictor.bias, math.log(p / (1 - p)))
            if cfg.pre_norm:  # 8.2: residual projections scaled by 1/sqrt(2 * layers)
                for w in (layer.attn.out.weight, layer.ff.proj.weight):
                    w.data.mul_(1 / math.sqrt(2 * cfg.n_layers))

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def init_memory(self, batch_size: int) -> Memory:
        """1.5: each layer starts with M zero vectors whose counters are M, M-1, ..., 1."""
        M, H = self.config.block_size, self.config.d_model
        position = torch.arange(-M, 0, device=self.device).expand(batch_size, M)
        hidden = torch.zeros(batch_size, M, H, device=self.device, dtype=self.head.weight.dtype)
        return Memory([LayerMemory(hidden, position) for _ in self.layers], t0=0)

    def forward(self, idx, memory: Memory | None = None, targets=None, attention_layer=None, span_limit=None,
                policy: Policy | None = None, forget: Forget | None = None):
        """Run one block (B x T, T <= M) and return log-probabilities and the next memory.

        In evaluation T may exceed M: the pass then gives the outputs, the caches and the drops of
        T / M passes of one block each (plan_cache) with fewer, larger operations.

        targets: B x T token ids to predict, -1 where there is none (ignored in the loss).
        span_limit: inference only, a maximum span below L (spans are clipped at it; without expiry the
        nearest span_limit memories are kept), to see what the model loses with less memory.
        policy: evaluation only, a memory policy (model/policies.py, section 15) with its budget given; a
        rule-based one holds every layer's cache instead of the spans, one block (T <= M) a pass.
        forget: evaluation only, memories to force out (model/forgetting.py, section 18).
        """
        cfg = self.config
        B, T = idx.shape
        if T > cfg.block_size and self.training:
            raise InputError(f"a training block holds at most {cfg.block_size} tokens, got {T}")
        rules = None if policy is None else policy.rules(cfg.n_layers, cfg.max_span)
        if rules is not None and (self.training or T > cfg.block_size or span_limit is not None):
            raise InputError("a memory policy runs in evaluation only, one block of at most M tokens a pass, "
                             "without span_limit")
        if forget is not None:
            if self.training:
                raise InputError("forgetting runs in evaluation only")
            forget.check(cfg.n_layers)
        memory = memory if memory is not None else self.init_memory(B)
        span_cap = None
        if cfg.expire_span and cfg.span_noise and self.training:
            span_cap = float(torch.rand(())) * cfg.max_span  # 6.1: one draw per block, all layers
        h = self.embed(idx)
        updates, details, span_losses = [], [], []
        for i, layer in enumerate(self.layers):
            h, update, span_loss, info = layer(
                h, memory.layers[i], memory.t0, self.key_pe, span_cap, attention_layer == i, span_limit,
                None if rules is None else rules[i], None if forget is None else forget.in_layer(i))
            updates.append(update)
            details.append(info)
            if span_loss is not None:
                span_losses.append(span_loss)
        new_layers = []
        for update, info, counts in zip(updates, details, read_counts(updates), strict=True):  # one read, 7.3
            layer_memory, info.dropped, info.seen = update.finish(counts)
            new_layers.append(layer_memory)
        log_probs = F.log_softmax(self.head(self.final_norm(h)), dim=-1)
        loss = None
        if targets is not None:
            nll = F.nll_loss(log_probs.reshape(-1, cfg.vocab_size), targets.reshape(-1).clamp(min=0),
                             reduction="none")
            scored = targets.reshape(-1) >= 0
            loss = (nll * scored).sum() / scored.sum().clamp(min=1)  # 0, not NaN, for a block without targets
        span_loss = torch.stack(span_losses).sum() if span_losses else None  # 5.1: summed over layers
        return ModelOutput(log_probs, Memory(new_layers, memory.t0 + T), loss, span_loss, details)
