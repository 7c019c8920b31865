"""The Expire-Span language model, written from shared/docs/expire-span.md (sections 1-8).

Section numbers in comments refer to that page. With `config.expire_span = False` the same code is the
Transformer-XL baseline: every layer keeps the nearest L memories (7.5).
"""
import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ExpireSpanConfig
from .hub import SafetensorsHubMixin


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


@dataclass
class Memory:
    layers: list[LayerMemory]
    t0: int  # position of the next block's first token

    def counters(self, layer: int) -> torch.Tensor:
        return self.t0 - self.layers[layer].position


@dataclass
class LayerDetails:
    """What one layer did with one block, for tracing (batch row b in every tensor)."""
    spans: torch.Tensor | None        # B x (N + T): predicted span of every key (2.1), None without expiry
    key_position: torch.Tensor        # B x (N + T)
    dropped_position: torch.Tensor    # B x D positions that left the cache after this block
    attention: torch.Tensor | None = None  # B x K x T x (N + T), only when asked


@dataclass
class ModelOutput:
    log_probs: torch.Tensor           # B x T x V
    memory: Memory
    loss: torch.Tensor | None = None  # mean task loss (nats) over positions with a target
    span_loss: torch.Tensor | None = None  # auxiliary loss (5.1), already scaled by alpha
    details: list[LayerDetails] = field(default_factory=list)


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

    def forward(self, x, projected, distance, key_pe, span_cap=None, want_attention=False):
        """x: B x T x H queries' inputs; projected: keys, values (B x S x H) and spans (B x S) of the
        cache and the block; distance: B x T x S, query position minus key position."""
        cfg = self.cfg
        B, T, _ = x.shape
        keys, values, spans = projected
        S = keys.shape[1]
        K, hd = cfg.n_heads, cfg.head_dim
        q = self.query(x).view(B, T, K, hd).transpose(1, 2)        # B K T hd
        k = keys.view(B, S, K, hd).transpose(1, 2)                 # B K S hd
        v = values.view(B, S, K, hd).transpose(1, 2)

        # 4.3: the key-side position term scores distances 1..M; those keys lie in the last 2M columns.
        M = cfg.block_size
        P = min(S, M + T)
        # Distance d reads column d - 1 of q @ key_pe, d > M an appended zero column; d <= 0 (later keys,
        # masked out below) reads column 0, any finite value.
        index = (distance[:, None, :, S - P:] - 1).clamp_(0, M).expand(B, K, T, P)
        scale = 1 / math.sqrt(hd)

        remaining = None
        if cfg.expire_span:
            used = spans if span_cap is None else spans.clamp(max=span_cap)  # 6.1
            remaining = used[:, None, :] - distance                  # 3.1: r_ti = e_i - (t - i)

        weights = None
        if self.training or want_attention:
            # 4.4, in this order: -inf where the mask is 0, scale, softmax, mask, renormalise, dropout.
            causal = distance >= 1                                   # 4.2: never itself, never later
            mask = (soft_mask(remaining, cfg.ramp) * causal if cfg.expire_span else causal.to(q.dtype))[:, None]
            position_scores = F.pad(q @ key_pe, (0, 1)).gather(-1, index)  # B K T P
            scores = q @ k.transpose(-1, -2)                         # 4.1: B K T S
            scores = torch.cat([scores[..., : S - P], scores[..., S - P:] + position_scores], dim=-1)
            scores = scores.masked_fill(mask == 0, float("-inf")) * scale
            attn = torch.softmax(scores, dim=-1) * mask
            attn = attn / (attn.sum(-1, keepdim=True) + 1e-8)
            weights = attn.detach() if want_attention else None
            y = self.dropout(attn) @ v
        else:
            # Evaluation: softmax times the mask, renormalised, is softmax(scores + log mask) (4.5 equals
            # 4.4 up to its 1e-8), which one fused kernel computes without the B x K x T x S passes.
            # log m = log1p(clamp(r / R, -1, 0)) (3.2), -inf once expired or not before the query (4.2).
            if cfg.expire_span:
                log_mask = torch.log1p((remaining / cfg.ramp).clamp_(-1, 0))
            else:
                log_mask = torch.zeros(distance.shape, dtype=q.dtype, device=q.device)
            log_mask = log_mask.masked_fill_(distance < 1, float("-inf"))[:, None]  # B 1 T S, for every head
            bias = log_mask.repeat(1, K, 1, 1)
            bias[..., S - P:] += F.pad((q * scale) @ key_pe, (0, 1)).gather(-1, index)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        y = y.transpose(1, 2).reshape(B, T, cfg.d_model)

        span_loss = None
        if cfg.expire_span and self.training:
            # 5.1: only memories on the ramp are charged, by their (negative) remaining span.
            on_ramp = (mask > 0) & (mask < 1)
            charged = (remaining[:, None] * on_ramp).sum(dim=(1, 2, 3))
            span_loss = (cfg.span_loss / (cfg.ramp * M)) * charged.mean()
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

    def forward(self, h, memory: LayerMemory, t0, key_pe, span_cap=None, want_attention=False, span_limit=None):
        B, T, _ = h.shape
        x = self.norm1(h) if self.cfg.pre_norm else h  # 1.2: what the cache holds
        block_position = torch.arange(t0, t0 + T, device=h.device).expand(B, T)
        kv_in = torch.cat([memory.hidden, x], dim=1)
        key_position = torch.cat([memory.position, block_position], dim=1)
        distance = block_position[:, :, None] - key_position[:, None, :]
        if memory.projected is None or self.training:
            projected = self.attn.project(kv_in)
        else:  # evaluation: project only the new block
            projected = tuple(None if old is None else torch.cat([old, new], dim=1)
                              for old, new in zip(memory.projected, self.attn.project(x)))
        if span_limit is not None and projected[2] is not None:  # a shorter maximum span at inference
            projected = (projected[0], projected[1], projected[2].clamp(max=span_limit))
        a, span_loss, weights = self.attn(x, projected, distance, key_pe, span_cap, want_attention)
        spans = projected[2]
        if self.cfg.pre_norm:
            h2 = h + a
            out = h2 + self.ff(self.norm2(h2))
        else:
            h2 = self.norm1(h + a)
            out = self.norm2(h2 + self.ff(h2))
        keep_projected = None if self.training else projected
        new_memory, dropped = update_memory(kv_in, key_position, spans, t0, self.cfg, keep_projected, span_limit)
        details = LayerDetails(spans, key_position, dropped, weights)
        return out, new_memory, span_loss, details


def update_memory(kv_in, key_position, spans, t0, cfg: ExpireSpanConfig, projected=None, span_limit=None):
    """The cache after a block (section 7); returns it and the positions that left it.

    Expire-Span: memory i may go once s_i + R - M <= 0 with s_i = e_i - counter_i (un-noised spans,
    7.1); the last M entries never go (7.2); each row drops the same number, the batch minimum rounded
    down to a multiple of M, taking its oldest droppable memories (7.3). Baseline: nearest L (7.5).
    Caches are detached (1.3).
    """
    position = key_position
    B, S = position.shape
    M = cfg.block_size
    if not cfg.expire_span:
        n_drop = max(S - (span_limit or cfg.max_span), 0)
    else:
        counter = t0 - position
        droppable = (spans.detach() - counter + cfg.ramp - M) <= 0
        droppable[:, max(S - M, 0):] = False
        n_drop = int(droppable.sum(dim=1).min()) // M * M
    if not cfg.expire_span or n_drop == 0:  # the oldest n_drop go, the same ones in every row
        dropped = position[:, :n_drop]
        keep = lambda t: None if t is None else t.detach()[:, n_drop:]
    else:
        drop = droppable & (droppable.cumsum(dim=1) <= n_drop)   # the oldest n_drop droppable ones
        # Row-major flat indices (batch row b's entries start at b * S), so one index_select keeps whole rows.
        keep_flat = (~drop).view(-1).nonzero().squeeze(1)
        dropped = position.reshape(-1)[drop.view(-1)].view(B, n_drop)

        def keep(t):
            if t is None:
                return None
            return t.detach().flatten(0, 1).index_select(0, keep_flat).view(B, S - n_drop, *t.shape[2:])
    projected = None if projected is None else tuple(keep(t) for t in projected)
    return LayerMemory(keep(kv_in), keep(position), projected), dropped


class ExpireSpanLM(nn.Module, SafetensorsHubMixin):
    """Byte-level (or task-vocabulary) language model with Expire-Span memory in every layer."""

    def __init__(self, config: ExpireSpanConfig):
        super().__init__()
        if isinstance(config, dict):
            config = ExpireSpanConfig.from_dict(config)
        self.config = cfg = config
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        # 4.3: one key-side position embedding, head_dim x M, shared by all heads and layers.
        self.key_pe = nn.Parameter(torch.randn(cfg.head_dim, cfg.block_size) * 0.02)
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

    def forward(self, idx, memory: Memory | None = None, targets=None, attention_layer=None, span_limit=None):
        """Run one block (B x T, T <= M) and return log-probabilities and the next memory.

        targets: B x T token ids to predict, -1 where there is none (ignored in the loss).
        span_limit: inference only, a maximum span below L (spans are clipped at it; without expiry the
        nearest span_limit memories are kept), to see what the model loses with less memory.
        """
        cfg = self.config
        B, T = idx.shape
        if T > cfg.block_size:
            raise ValueError(f"a block holds at most {cfg.block_size} tokens, got {T}")
        memory = memory if memory is not None else self.init_memory(B)
        span_cap = None
        if cfg.expire_span and cfg.span_noise and self.training:
            span_cap = float(torch.rand(())) * cfg.max_span  # 6.1: one draw per block, all layers
        h = self.embed(idx)
        new_layers, details, span_losses = [], [], []
        for i, layer in enumerate(self.layers):
            h, layer_memory, span_loss, info = layer(
                h, memory.layers[i], memory.t0, self.key_pe, span_cap, attention_layer == i, span_limit)
            new_layers.append(layer_memory)
            details.append(info)
            if span_loss is not None:
                span_losses.append(span_loss)
        log_probs = F.log_softmax(self.head(self.final_norm(h)), dim=-1)
        loss = None
        if targets is not None:
            nll = F.nll_loss(log_probs.reshape(-1, cfg.vocab_size), targets.reshape(-1).clamp(min=0),
                             reduction="none")
            scored = targets.reshape(-1) >= 0
            loss = (nll * scored).sum() / scored.sum().clamp(min=1)  # 0, not NaN, for a block without targets
        span_loss = torch.stack(span_losses).sum() if span_losses else None  # 5.1: summed over layers
        return ModelOutput(log_probs, Memory(new_layers, memory.t0 + T), loss, span_loss, details)
