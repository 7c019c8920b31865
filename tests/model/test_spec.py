"""The model against the method's rules; section numbers refer to docs/method.md."""
import math

import numpy as np
import pytest
import torch

from support import TINY, tiny_model
from model import ExpireSpanConfig, ExpireSpanLM, trace
from model.expire_span import soft_mask, update_memory


def run_blocks(model, tokens, memory=None, **kwargs):
    """Feed a B x N tensor block by block; return the outputs of every block."""
    outs = []
    M = model.config.block_size
    for start in range(0, tokens.shape[1], M):
        out = model(tokens[:, start:start + M], memory, **kwargs)
        memory = out.memory
        outs.append(out)
    return outs


def test_2_2_fresh_model_spans_equal_p_times_L():
    cfg = ExpireSpanConfig(vocab_size=256, n_layers=3, d_model=32, n_heads=4, d_ff=64, block_size=8,
                           max_span=200, ramp=4, init_span_fraction=0.1)
    model = ExpireSpanLM(cfg)
    t = trace(model, "Fresh spans are all the same, whatever the text says. " * 3)
    np.testing.assert_allclose(t.spans, 20.0, rtol=1e-6)
    for layer in model.layers:
        assert torch.all(layer.attn.span_predictor.weight == 0)


def test_3_2_soft_mask_example():
    distance = torch.tensor([16.0, 15, 14, 13, 12, 5])
    m = soft_mask(12.0 - distance, ramp=4)
    assert m.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_1_4_1_5_counters_start_at_M_and_advance_by_M():
    model = tiny_model()
    M = model.config.block_size
    memory = model.init_memory(batch_size=2)
    for layer in range(model.config.n_layers):
        assert memory.counters(layer).tolist() == [list(range(M, 0, -1))] * 2
        assert torch.all(memory.layers[layer].hidden == 0)
    out = model(torch.randint(0, 256, (2, M)), memory)
    for layer in range(model.config.n_layers):
        counters = out.memory.counters(layer)[0].tolist()
        # the start memories (if still kept) are now 2M..M+1, the block just run is M..1
        assert counters[-M:] == list(range(M, 0, -1))
        older = counters[:-M]
        assert older == sorted(older, reverse=True) and all(M < c <= 2 * M for c in older)


def reference_attention(model, kv_in, key_position, t0):
    """Paper form (4.5) written independently: a'_ti = m_ti a_ti / sum_j m_tj a_tj, with the position
    term on distances 1..M only (4.3), no self or later keys (4.2), over layer 0's inputs."""
    cfg = model.config
    attn = model.layers[0].attn
    T = cfg.block_size
    x = kv_in[:, -T:]
    weights = torch.zeros(cfg.n_heads, T, kv_in.shape[1])
    e = cfg.max_span * torch.sigmoid(attn.span_predictor(kv_in / cfg.pre_div))[0, :, 0]
    for head in range(cfg.n_heads):
        sl = slice(head * cfg.head_dim, (head + 1) * cfg.head_dim)
        q = (x @ attn.query.weight.T)[0, :, sl]
        k = (kv_in @ attn.key.weight.T)[0, :, sl]
        for j in range(T):
            row = []
            for i in range(kv_in.shape[1]):
                d = t0 + j - int(key_position[0, i])
                if d < 1:
                    row.append(0.0)
                    continue
                s = float(q[j] @ k[i])
                if d <= cfg.block_size:
                    s += float(q[j] @ model.key_pe[:, d - 1])
                m = min(max(1 + (float(e[i]) - d) / cfg.ramp, 0.0), 1.0)
                row.append(m * math.exp(s / math.sqrt(cfg.head_dim)))
            total = sum(row)
            weights[head, j] = torch.tensor(row) / total
    return weights


@torch.no_grad()
def test_4_attention_matches_the_paper_form():
    model = tiny_model(seed=3, n_layers=1, max_span=16, ramp=3, init_span_fraction=0.3)
    torch.nn.init.normal_(model.key_pe, std=0.5)
    M = model.config.block_size
    tokens = torch.randint(0, 256, (1, 3 * M))
    outs = run_blocks(model, tokens, attention_layer=0)
    # third block: its cache holds memories of the first two blocks (whatever was not dropped)
    memory = outs[1].memory
    details = outs[2].details[0]
    kv_in = torch.cat([memory.layers[0].hidden, model.embed(tokens[:, 2 * M:])], dim=1)
    expected = reference_attention(model, kv_in, details.key_position, t0=2 * M)
    torch.testing.assert_close(details.attention[0], expected, atol=1e-5, rtol=1e-4)


@torch.no_grad()
def test_4_2_a_query_never_sees_itself_or_later_tokens():
    model = tiny_model(seed=4)
    t = trace(model, bytes(range(60, 100)), attention_layer=1)
    assert np.all(np.triu(t.attention) == 0)  # diagonal included
    # and later tokens change nothing before them
    a = trace(model, b"the same start, then one ending")
    b = trace(model, b"the same start, then another one")
    n = len(b"the same start, then ")
    np.testing.assert_array_equal(a.spans[:, :n], b.spans[:, :n])
    np.testing.assert_array_equal(a.bits[:n], b.bits[:n])  # bits[i]: loss of token i, from tokens before i


@torch.no_grad()
def test_4_4_masked_attention_rows_sum_to_one_and_expired_keys_get_nothing():
    model = tiny_model(seed=5, max_span=40, ramp=3)
    tokens = np.random.default_rng(0).integers(32, 127, 200)
    for out in run_blocks(model, torch.from_numpy(tokens)[None], attention_layer=0):
        rows = out.details[0].attention.sum(-1)  # over every key, the start state's zero memories included
        torch.testing.assert_close(rows, torch.ones_like(rows), atol=1e-5, rtol=0)
    t = trace(model, tokens, attention_layer=0)
    distance = np.arange(200)[:, None] - np.arange(200)[None, :]
    expired = distance >= t.spans[0][None, :] + t.ramp  # m = 0 from e + R on
    assert expired.any()
    assert np.all(t.attention[expired] == 0)


@torch.no_grad()
def test_4_3_position_term_only_on_the_last_2M_keys():
    # Zero key weights: raw scores vanish and only the position term is left, so without expiry the
    # weights of keys further than M back must all be equal, and the nearest M must differ.
    model = tiny_model(seed=6, expire_span=False, max_span=64)
    torch.nn.init.normal_(model.key_pe, std=1.0)
    torch.nn.init.zeros_(model.layers[0].attn.key.weight)
    torch.nn.init.normal_(model.layers[0].attn.query.weight, std=1.0)
    torch.nn.init.normal_(model.embed.weight, std=1.0)
    M = model.config.block_size
    outs = run_blocks(model, torch.randint(0, 256, (1, 6 * M)), attention_layer=0)
    last = outs[-1].details[0]
    weights, positions = last.attention[0, 0], last.key_position[0]  # head 0: T x S
    S = positions.numel()
    for j in range(M):
        d = 5 * M + j - positions
        far = weights[j][d > M]
        near = weights[j][(d >= 1) & (d <= M)]
        assert torch.allclose(far, far[0].expand_as(far), rtol=1e-5)
        assert near.std() > 1e-3
        assert torch.all(torch.nonzero((d >= 1) & (d <= M)).squeeze(1) >= S - 2 * M)


@pytest.mark.parametrize("n_cached, T", [(8, 8), (20, 8), (8, 3), (30, 24), (5, 8), (2, 16)])
def test_4_3_position_scores_match_the_definition(n_cached, T):
    """q_t . key_pe[:, d - 1] for keys at distance d = 1..M, 0 beyond M and for later keys, for a cache
    of the n_cached positions before T queries: longer or shorter than M, and passes longer than M."""
    from model.expire_span import position_scores
    torch.manual_seed(0)
    B, K, hd, M = 2, 3, 4, 8
    q, key_pe = torch.randn(B, K, T, hd), torch.randn(hd, M)
    S = n_cached + T
    got = position_scores(q, key_pe, S)
    assert got.shape == (B, K, T, S)
    for t in range(T):
        for c in range(S):
            d = (n_cached + t) - c  # query at n_cached + t, key at c
            expected = q[:, :, t] @ key_pe[:, d - 1] if 1 <= d <= M else torch.zeros(B, K)
            torch.testing.assert_close(got[:, :, t, c], expected)


def test_5_1_span_loss_zero_off_the_ramp_negative_on_it():
    long_spans = tiny_model(seed=7, init_span_fraction=0.99, max_span=1000).train()
    for layer in long_spans.layers:
        torch.nn.init.zeros_(layer.attn.span_predictor.weight)
    out = run_blocks(long_spans, torch.randint(0, 256, (2, 32)))[-1]
    assert out.span_loss.item() == 0.0

    short = tiny_model(seed=7, init_span_fraction=0.05, max_span=64).train()  # e = 3.2, R = 4
    out = run_blocks(short, torch.randint(0, 256, (2, 32)))[-1]
    assert out.span_loss.item() < 0


def test_5_1_span_loss_value_and_gradient_only_through_ramp_memories():
    cfg = dict(init_span_fraction=0.1, max_span=40, ramp=4, span_loss=1e-3)  # every e = 4.0 at init
    model = ExpireSpanLM(ExpireSpanConfig(**{**TINY, **cfg})).train()
    M, R, e = 8, 4, 4.0
    logits = []

    def keep_logits(module, inputs, output):
        output.retain_grad()
        logits.append(output)

    for layer in model.layers:
        layer.attn.span_predictor.register_forward_hook(keep_logits)
    memory = run_blocks(model, torch.randint(0, 256, (1, M)))[-1].memory  # t0 = M afterwards
    logits.clear()
    out = model(torch.randint(0, 256, (1, M)), memory)
    # expected, by plain loops: every query q of the block, every key with 0 < m < 1, sum of r = e - d
    key_pos = [p for p in memory.layers[0].position[0].tolist()] + list(range(M, 2 * M))
    total = 0.0
    for q in range(M, 2 * M):
        for p in key_pos:
            d = q - p
            if d >= 1 and -R < e - d < 0:
                total += e - d
    expected = model.config.n_layers * 1e-3 / (R * M) * total
    assert total < 0
    assert out.span_loss.item() == pytest.approx(expected, rel=1e-5)
    out.span_loss.backward()
    for layer_logits in logits:
        grad = layer_logits.grad[0, :, 0]
        on_ramp = torch.tensor([any(-R < e - (q - p) < 0 for q in range(M, 2 * M)) for p in key_pos])
        assert torch.all(grad[~on_ramp] == 0)
        assert torch.all(grad[on_ramp] > 0)  # loss grows with e on the ramp: gradient pushes spans down


def test_6_noise_changes_the_mask_but_not_what_is_dropped():
    torch.manual_seed(0)
    tokens = torch.randint(0, 256, (2, 96))
    noisy = tiny_model(seed=8, span_noise=True, span_loss=1e-2, init_span_fraction=0.5).train()
    quiet = tiny_model(seed=8, span_noise=False, span_loss=1e-2, init_span_fraction=0.5).train()
    torch.manual_seed(1)
    a = run_blocks(noisy, tokens)
    b = run_blocks(quiet, tokens)
    # the noise clips the spans that the mask and the span loss use ...
    assert any(abs(x.span_loss.item() - y.span_loss.item()) > 1e-9 for x, y in zip(a, b))
    # ... but not those that decide dropping: layer 0 sees the same inputs, so it keeps the same memories
    for x, y in zip(a, b):
        assert torch.equal(x.memory.layers[0].position, y.memory.layers[0].position)
    assert any(x.details[0].dropped[0].numel() for x in a)


def test_7_dropping_multiples_of_M_batch_minimum_never_the_current_block():
    cfg = ExpireSpanConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=1, d_ff=8, block_size=4,
                           max_span=100, ramp=2)
    M, S, t0 = 4, 20, 16
    position = torch.arange(t0 - 16, t0 + 4).expand(2, S)  # 16 cached memories + the current block
    spans = torch.full((2, S), 50.0)
    # droppable when e - counter + R - M <= 0, i.e. e <= counter + 2
    spans[0, :11] = 0.0                       # row 0: 11 droppable, the oldest
    spans[1, [1, 3, 5, 7, 9, 11]] = 0.0       # row 1: 6 droppable, scattered
    spans[:, -M:] = 0.0                       # the current block: never dropped whatever its spans
    hidden = torch.randn(2, S, 8)
    memory, (dropped,), seen = update_memory(hidden, position, spans, t0, cfg)
    assert seen == [16] and dropped.shape == (2, 4)  # batch minimum 6, rounded down to 4
    assert dropped[0].tolist() == [0, 1, 2, 3]
    assert dropped[1].tolist() == [1, 3, 5, 7]
    assert memory.position.shape == (2, 16)
    for row in range(2):
        kept = memory.position[row].tolist()
        assert kept == sorted(kept) and kept[-M:] == [16, 17, 18, 19]
        assert not set(kept) & set(dropped[row].tolist())
        assert torch.equal(memory.hidden[row], hidden[row][[p - position[0, 0].item() for p in kept]])
    # fewer than M droppable in some row: nothing goes
    spans2 = torch.full((2, S), 50.0)
    spans2[0, :3] = 0.0
    spans2[1, :10] = 0.0
    memory, (dropped,), _ = update_memory(hidden, position, spans2, t0, cfg)
    assert dropped.shape == (2, 0) and memory.position.shape == (2, S)


def test_7_trace_drops_only_whole_blocks_and_only_expired_memories():
    model = tiny_model(seed=9, max_span=48, ramp=4)
    t = trace(model, bytes(np.random.default_rng(1).integers(0, 256, 400).tolist()))
    M = t.block_size
    for layer in range(t.n_layers):
        sizes = t.cache_size[layer]
        assert np.all((sizes - M) % M == 0)  # the cache changes by whole blocks
        gone = t.dropped_at[layer] >= 0
        assert gone.any()
        pos = np.flatnonzero(gone)
        age = t.dropped_at[layer][gone] - pos
        # gone only once its mask is 0 at that query (7.1): e - age + R <= 0 ... measured one block earlier
        assert np.all(t.spans[layer][gone] - (age - M) + t.ramp - M <= 1e-4)
        assert np.all(t.dropped_at[layer][gone] % M == 0)  # only at block boundaries
        assert np.all(age >= M)  # never from the block it was in


def test_7_4_outputs_do_not_depend_on_the_other_rows_of_the_batch():
    model = tiny_model(seed=10)
    tokens = torch.randint(0, 256, (3, 40))
    with torch.no_grad():
        together = run_blocks(model, tokens)
        alone = run_blocks(model, tokens[1:2])
    for x, y in zip(together, alone):
        torch.testing.assert_close(x.log_probs[1:2], y.log_probs, atol=1e-5, rtol=1e-5)


def test_7_5_baseline_keeps_exactly_the_nearest_L():
    model = tiny_model(seed=11, expire_span=False, max_span=24)
    M, L = 8, 24
    with torch.no_grad():
        outs = run_blocks(model, torch.randint(0, 256, (2, 80)))
    for b, out in enumerate(outs):
        end = (b + 1) * M
        for layer in out.memory.layers:
            expected = list(range(end - L, end))
            assert layer.position[0].tolist() == expected[-layer.position.shape[1]:]
            assert layer.position.shape[1] == min(L, end + M)
    t = trace(model, bytes(range(80)))
    positions = np.arange(80)
    gone = t.dropped_at[0] >= 0
    # memory i leaves at the first block start t with i < t - L
    first_start = ((positions + L) // M + 1) * M
    np.testing.assert_array_equal(t.dropped_at[0][gone], first_start[gone])
    assert np.all(t.spans == L)


@torch.no_grad()
@pytest.mark.parametrize("pre_norm", [False, True])
def test_1_2_the_cache_holds_raw_layer_inputs_also_in_pre_norm(pre_norm):
    model = tiny_model(seed=12, pre_norm=pre_norm, init_span_fraction=0.9)
    M = model.config.block_size
    tokens = torch.randint(0, 256, (1, 2 * M))
    out = run_blocks(model, tokens)[-1]
    h = model.embed(tokens[:, M:])  # pre-norm applies norm1 at use (tests/model/test_fidelity.py)
    torch.testing.assert_close(out.memory.layers[0].hidden[:, -M:], h)
    assert isinstance(model.final_norm, torch.nn.LayerNorm) == pre_norm  # 8.2: final norm in pre-norm only


def test_8_2_pre_norm_scales_residual_projections_at_init():
    torch.manual_seed(0)
    cfg = dict(vocab_size=256, n_layers=8, d_model=128, n_heads=4, d_ff=512, block_size=8, max_span=64, ramp=4)
    pre = ExpireSpanLM(ExpireSpanConfig(**cfg, pre_norm=True))
    post = ExpireSpanLM(ExpireSpanConfig(**cfg, pre_norm=False))
    ratio = float(pre.layers[0].ff.proj.weight.detach().std() / post.layers[0].ff.proj.weight.detach().std())
    assert ratio == pytest.approx(1 / math.sqrt(16), rel=0.05)
    ratio = float(pre.layers[0].attn.out.weight.detach().std() / post.layers[0].attn.out.weight.detach().std())
    assert ratio == pytest.approx(1 / math.sqrt(16), rel=0.05)
    assert pre.layers[0].attn.query.bias is None and pre.head.weight.data_ptr() != pre.embed.weight.data_ptr()


@pytest.mark.parametrize("expire_span", [True, False])
def test_fused_evaluation_attention_equals_the_spec_order(expire_span):
    """4.4/4.5: at evaluation attention runs as one fused softmax(scores + log mask); the layer whose
    attention weights are recorded runs the 4.4 order instead. Both must give the same model."""
    model = tiny_model(seed=7, expire_span=expire_span).eval()
    with torch.no_grad():  # weights large enough that attention and the position term show in the output
        for name, p in model.named_parameters():
            if "norm" not in name and "span_predictor" not in name:
                p.normal_(std=0.5)
    data = bytes(np.random.default_rng(7).integers(0, 256, 700).tolist())
    fused = trace(model, data)
    for layer in range(model.config.n_layers):
        spec_order = trace(model, data, attention_layer=layer)
        np.testing.assert_allclose(spec_order.bits, fused.bits, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(spec_order.spans, fused.spans, rtol=1e-4, atol=1e-2)
        np.testing.assert_array_equal(spec_order.dropped_at, fused.dropped_at)


def test_a_training_pass_holds_at_most_one_block():
    """Passes of several M-blocks are for evaluation; training runs one block of at most M (1.1)."""
    model = tiny_model(seed=13).train()
    M = model.config.block_size
    with pytest.raises(ValueError, match=f"a training block holds at most {M} tokens"):
        model(torch.randint(0, 256, (1, M + 1)))
    model.eval()
    with torch.no_grad():
        assert model(torch.randint(0, 256, (1, 3 * M))).log_probs.shape == (1, 3 * M, 256)
