"""Memory policies (docs/method.md section 15, model/policies.py): what each rule keeps, on constructed
positions and attention, and the model run under a policy against its plain trace and an uncached pass."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from support import tiny_model
from model import InputError, Trace, Tracer, trace
from model.policies import NAMES, Policy, Rule, default_budget, received, visible_memories

TEXT = ("It was the best of times, it was the worst of times; the ferry left at dawn and came back late. " * 2)
RULED = ("window", "sinks", "heavy-hitters", "keep-all")


def kept(rule: Rule, position, score=None) -> list[list[int]]:
    position = torch.as_tensor(position)
    mask = rule.keep(position, None if score is None else torch.as_tensor(score, dtype=torch.float32))
    return [sorted(row[m].tolist()) for row, m in zip(position, mask)]


# 15.1: each rule on constructed positions and attention, checked by hand

def test_15_1_window_keeps_the_nearest_k():
    position = [list(range(-3, 7))]                       # three start memories, tokens 0..6
    assert kept(Rule("window", 4), position) == [[3, 4, 5, 6]]
    assert kept(Rule("window", 1), position) == [[6]]
    assert kept(Rule("window", 10), position) == position  # no more than the budget: all stay
    assert kept(Rule("window", 50), position) == position


def test_15_1_sinks_keep_the_first_tokens_and_the_nearest_others():
    position = [list(range(-3, 8))]
    assert kept(Rule("sinks", 5, sinks=2), position) == [[0, 1, 5, 6, 7]]
    assert kept(Rule("sinks", 4, sinks=0), position) == [[4, 5, 6, 7]]  # no sinks: a window
    # the start state's zero memories are not tokens, so never sinks: before token 0 it is a window
    assert kept(Rule("sinks", 3, sinks=2), [list(range(-8, 0))]) == [[-3, -2, -1]]
    # sinks not yet read are not waited for: token 0 is the only one there
    assert kept(Rule("sinks", 3, sinks=2), [list(range(-8, 1))]) == [[-2, -1, 0]]
    # more sinks than the budget: the budget holds the first k tokens only
    rule = Policy("sinks", budget=2, sinks=4).rules(1, 64)[0]
    assert (rule.sinks, kept(rule, [list(range(0, 9))])) == (2, [[0, 1]])


def test_15_1_heavy_hitters_keep_the_nearest_r_and_the_most_attended_others():
    # 2 heads x 2 queries over 6 keys at positions 10..15 (each row sums to 1):
    attention = torch.tensor([[[[.50, .00, .20, .10, .10, .10],
                                [.40, .10, .30, .10, .00, .10]],
                               [[.00, .00, .10, .40, .30, .20],
                                [.10, .00, .10, .00, .00, .80]]]])
    score = received(attention)
    # summed over heads and queries: key 10: .5+.4+0+.1 = 1.0, 11: .1, 12: .7, 13: .6, 14: .4, 15: 1.2
    torch.testing.assert_close(score, torch.tensor([[1.0, 0.1, 0.7, 0.6, 0.4, 1.2]]))
    position = [list(range(10, 16))]
    # budget 4, 2 recent: 14 and 15; the other 2 by score among 10..13: 10 (1.0) and 12 (0.7)
    assert kept(Rule("heavy-hitters", 4, recent=2), position, score) == [[10, 12, 14, 15]]
    # recent 0: the 3 with the highest scores, wherever they are
    assert kept(Rule("heavy-hitters", 3, recent=0), position, score) == [[10, 12, 15]]
    # recent = budget: a window
    assert kept(Rule("heavy-hitters", 3, recent=3), position, score) == [[13, 14, 15]]
    # ties go to the more recent memory (zero scores at the start: the nearest)
    assert kept(Rule("heavy-hitters", 3, recent=1), [[-4, -3, -2, -1, 0]], [[0.0] * 5]) == [[-2, -1, 0]]
    assert kept(Rule("heavy-hitters", 3, recent=1), [[0, 1, 2, 3, 4]], [[.5, .2, .5, .5, 0]]) == [[2, 3, 4]]
    # every batch row by its own scores, the same number in each
    two = torch.tensor([list(range(10, 16))] * 2)
    scores = torch.cat([score, torch.tensor([[0.0, 2.0, 0.0, 3.0, 0.0, 0.0]])])
    assert kept(Rule("heavy-hitters", 4, recent=2), two, scores) == [[10, 12, 14, 15], [11, 13, 14, 15]]


def test_15_1_defaults_and_keep_all():
    rules = Policy("heavy-hitters", budget=(7, 10)).rules(2, 64)
    assert [(r.budget, r.recent) for r in rules] == [(7, 3), (10, 5)]  # half the budget recent, rounded down
    assert [r.sinks for r in Policy("sinks", budget=9).rules(3, 64)] == [4, 4, 4]
    keep_all = Policy("keep-all").rules(2, 64)
    assert [r.budget for r in keep_all] == [64, 64]
    assert kept(keep_all[0], [list(range(-8, 70))]) == [list(range(6, 70))]  # the nearest L
    assert Policy("expire-span").rules(2, 64) is None and not Policy().by_rule


@pytest.mark.parametrize("make, message", [
    (lambda: Policy("lru"), "unknown memory policy"),
    (lambda: Policy("keep-all", budget=5), "takes no budget"),
    (lambda: Policy("expire-span", budget=5), "takes no budget"),
    (lambda: Policy("window", budget=0), "at least 1"),
    (lambda: Policy("window", budget=2.5), "integer"),
    (lambda: Policy("sinks", budget=8, sinks=-1), "at least 0"),
    (lambda: Policy("window", budget=(3, 4, 5)).rules(2, 64), "the model has 2"),
    (lambda: Policy("window").rules(2, 64), "needs a budget"),
])
def test_15_bad_policies_name_the_problem(make, message):
    with pytest.raises(InputError, match=message):
        make()


# 15.4: the default budget

def small_trace(spans, expire_span=True, meta=None) -> Trace:
    spans = np.asarray(spans, np.float32)
    T = spans.shape[1]
    return Trace(tokens=np.zeros(T, np.int64), spans=spans, dropped_at=np.full(spans.shape, -1),
                 cache_size=np.zeros((spans.shape[0], 3), np.int64), bits=np.zeros(T), predictions=np.zeros(T),
                 max_span=3, ramp=1, block_size=2, n_layers=spans.shape[0], expire_span=expire_span,
                 meta=meta or {})


def test_15_4_default_budget_counts_what_each_block_could_still_see():
    # M = 2, R = 1: blocks start at 0, 2 and 4; memory i is visible at b while e_i + 1 > b - i
    t = small_trace([[0, 5, 1, 0, 0, 0],     # b=2: only token 1 (6 > 1); b=4: token 1 (6 > 3), not 2 (2 > 2)
                     [9, 9, 9, 9, 9, 9]])    # everything: 0, 2, 4
    assert visible_memories(t).tolist() == [[0, 1, 1], [0, 2, 4]]
    assert default_budget(t) == [1, 2]       # mean 2/3 rounds to 1; 0 would round up to 1 too
    # without expiry: the nearest L (3): b=2 sees 2, b=4 sees 3
    assert visible_memories(small_trace([[3] * 6], expire_span=False)).tolist() == [[0, 2, 3]]
    with pytest.raises(ValueError, match="plain trace"):
        visible_memories(small_trace([[3] * 6], meta={"policy": {"name": "window"}}))


def test_15_4_visible_memories_are_those_a_block_s_first_query_attends_to():
    model = tiny_model(seed=3, init_span_fraction=0.15)
    for layer in range(model.config.n_layers):
        t = trace(model, TEXT[:120], attention_layer=layer)
        M = t.block_size
        attended = [int((t.attention[b, :b] > 0).sum()) for b in range(0, 120, M)]
        assert visible_memories(t)[layer].tolist() == attended
        assert visible_memories(t)[layer, 1:].min() > 0


def test_15_4_trace_uses_the_default_budget_of_its_own_plain_trace():
    model = tiny_model(seed=4)
    budget = default_budget(trace(model, TEXT))
    for name in ("window", "sinks", "heavy-hitters"):
        t = trace(model, TEXT, policy=name)
        assert t.meta["policy"]["budget"] == budget
        explicit = trace(model, TEXT, policy=Policy(name, budget=tuple(budget)))
        np.testing.assert_array_equal(t.bits, explicit.bits)


# 15.2: the model under a policy

@pytest.mark.parametrize("setup", [dict(), dict(expire_span=False, max_span=40)], ids=["expire-span", "baseline"])
def test_15_expire_span_through_the_policy_api_is_the_plain_trace(setup):
    model = tiny_model(seed=2, **setup)
    plain = trace(model, TEXT, attention_layer=1)
    for policy in ("expire-span", Policy("expire-span")):
        through = trace(model, TEXT, attention_layer=1, policy=policy)
        assert through.to_dict() == plain.to_dict()
        for name in ("spans", "dropped_at", "cache_size", "bits", "predictions", "attention"):
            np.testing.assert_array_equal(getattr(through, name), getattr(plain, name))


@pytest.mark.parametrize("name", RULED)
def test_15_2_budgets_hold_in_every_layer_and_block(name):
    model = tiny_model(seed=5, max_span=20)
    M, T = model.config.block_size, len(TEXT)
    budget = None if name == "keep-all" else (5, 13)    # below M in one layer, above it in the other
    policy = Policy(name, budget=budget, sinks=2)
    k = [20, 20] if name == "keep-all" else list(budget)
    t = trace(model, TEXT, policy=policy)
    assert t.meta["policy"]["budget"] == k
    n_blocks = -(-T // M)
    starts = np.arange(n_blocks) * M
    for layer in range(model.config.n_layers):
        # before block j: M start memories and j blocks of tokens, of which the rule keeps k
        np.testing.assert_array_equal(t.cache_size[layer], np.minimum(k[layer], M + starts))
        for b in starts:  # the tokens still held before block b (dropped_at: gone from that query on)
            held = (t.dropped_at[layer, :b] == -1) | (t.dropped_at[layer, :b] > b)
            assert held.sum() <= min(k[layer], b)
            if name != "heavy-hitters":  # by position, tokens go only once the start state has gone
                assert held.sum() == min(k[layer], b)
        gone = t.dropped_at[layer][t.dropped_at[layer] >= 0]
        assert np.all((gone % M == 0) | (gone == T))  # at a block end: M-blocks, and the last, shorter one
        if name == "sinks":
            assert np.all(t.dropped_at[layer, :2] == -1)  # the 2 sinks stay
    # the model's own caches after every block, and a last partial block
    memory = None
    ids = torch.tensor(list(TEXT.encode()))[None]
    with torch.no_grad():
        for j, start in enumerate(range(0, T, M)):
            out = model(ids[:, start:start + M], memory, policy=Policy(name, budget=budget, sinks=2))
            memory = out.memory
            for layer in range(model.config.n_layers):
                n = memory.layers[layer].position.shape[1]
                assert n == min(k[layer], M + min(start + M, T)) and memory.layers[layer].hidden.shape[1] == n
                assert out.details[layer].seen == [min(k[layer], M + start)]
    # spans are the model's own predictions; the first layer's read only the embeddings, so equal the plain ones
    np.testing.assert_allclose(t.spans[0], trace(model, TEXT).spans[0], rtol=1e-6)


def test_15_2_streaming_under_a_policy_equals_one_call():
    model = tiny_model(seed=6)
    policy = Policy("heavy-hitters", budget=(9, 14))
    one = trace(model, TEXT, policy=policy)
    tracer = Tracer(model, policy=policy)
    for start in range(0, len(TEXT), 5):
        tracer.feed(TEXT[start:start + 5])
    pieces = tracer.finish()
    assert pieces.to_dict() == one.to_dict()


def test_15_2_what_a_policy_refuses():
    model = tiny_model()
    with pytest.raises(InputError, match="span_limit"):
        trace(model, TEXT, policy="window", span_limit=10)
    with pytest.raises(InputError, match="span_limit"):
        Tracer(model, policy=Policy("window", budget=4), span_limit=10)
    with pytest.raises(InputError, match="needs a budget"):
        Tracer(model, policy="sinks")       # streaming cannot work out the default: the text is not there yet
    ids = torch.zeros(1, 8, dtype=torch.long)
    with pytest.raises(ValueError, match="evaluation only"):
        model.train()(ids, policy=Policy("window", budget=4))
    with pytest.raises(ValueError, match="one block"):
        model.eval()(torch.zeros(1, 16, dtype=torch.long), policy=Policy("window", budget=4))
    assert set(NAMES) == {"expire-span", *RULED}


# 15.3: heavy hitters' scores against a plain loop

@torch.no_grad()
def test_15_3_heavy_hitter_scores_match_a_loop_over_heads_and_queries():
    model = tiny_model(seed=8)
    M, K = model.config.block_size, model.config.n_heads
    budget, recent = (6, 12), 2
    policy = Policy("heavy-hitters", budget=budget, recent=recent)
    tokens = torch.tensor(list(TEXT[:7 * M - 3].encode()))[None]  # a last, shorter block too
    for layer in range(model.config.n_layers):
        k = budget[layer]
        scores: dict[int, float] = {}
        expected = list(range(-min(k, M), 0))  # the start state cut to k: equal (zero) scores, so the nearest
        memory = None
        for start in range(0, tokens.shape[1], M):
            out = model(tokens[:, start:start + M], memory, attention_layer=layer, policy=policy)
            memory = out.memory
            details = out.details[layer]
            positions = details.key_position[0].tolist()
            assert positions[:len(expected)] == expected  # the cache the block saw: what the loop kept
            attention = details.attention[0]              # K x T x S
            for j, p in enumerate(positions):
                total = 0.0
                for head in range(K):
                    for t in range(attention.shape[1]):
                        total += float(attention[head, t, j])
                scores[p] = scores.get(p, 0.0) + total
            if len(positions) <= k:
                expected = positions
            else:
                near = sorted(positions)[-recent:]
                others = sorted((p for p in positions if p not in near), key=lambda p: (scores[p], p), reverse=True)
                expected = sorted(near + others[:k - recent])
            held = memory.layers[layer]
            assert held.position[0].tolist() == expected
            np.testing.assert_allclose(held.score[0].numpy(), [scores[p] for p in expected], rtol=1e-5, atol=1e-6)
        assert min(scores.values()) >= 0
        assert any(p < max(expected) - k for p in expected)  # an old heavy hitter was kept


# 15.2: the outputs under a rule equal one uncached pass with the same keep / drop mask

def kept_before(name: str, k: int, sinks: int, block_start: int, M: int) -> set[int]:
    """The rule, written out for a block: of the start state and every token before it, what the cache holds."""
    entries = list(range(-M, block_start))
    if name in ("window", "keep-all"):
        return set(entries[-k:])
    sink = [p for p in entries if 0 <= p < min(sinks, k)]
    others = [p for p in entries if p not in sink]
    return set(sink) | set(others[max(len(others) - (k - len(sink)), 0):])


@torch.no_grad()
def full_pass_log_probs(model, tokens: list[int], sees) -> torch.Tensor:
    """The whole input as one pass over the start state, no cache (8.1, 8.2): query t attends to the start
    memories and tokens at positions p with sees(layer, t, p), with weight 1, no span mask."""
    cfg = model.config
    M, T, K, hd = cfg.block_size, len(tokens), cfg.n_heads, cfg.head_dim
    positions = list(range(-M, T))
    h = model.embed(torch.tensor(tokens))
    for index, layer in enumerate(model.layers):
        kv_in = torch.cat([torch.zeros(M, cfg.d_model), h])  # 1.2, 1.5: raw inputs, M zeros at the start
        x = layer.norm1(h) if cfg.pre_norm else h
        kv_in = layer.norm1(kv_in) if cfg.pre_norm else kv_in
        q = layer.attn.query(x).view(T, K, hd).transpose(0, 1)
        k = layer.attn.key(kv_in).view(M + T, K, hd).transpose(0, 1)
        v = layer.attn.value(kv_in).view(M + T, K, hd).transpose(0, 1)
        table = q @ model.key_pe                              # K x T x M: column d - 1 is distance d (4.3)
        scores = q @ k.transpose(1, 2)
        allowed = torch.zeros(T, M + T, dtype=torch.bool)
        for t in range(T):
            for j, p in enumerate(positions):
                d = t - p
                if 1 <= d <= M:
                    scores[:, t, j] += table[:, t, d - 1]
                allowed[t, j] = d >= 1 and sees(index, t, p)
        scores = (scores / math.sqrt(hd)).masked_fill(~allowed, float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(T, cfg.d_model)
        if cfg.pre_norm:
            h2 = h + layer.attn.out(a)
            h = h2 + layer.ff(layer.norm2(h2))
        else:
            h2 = layer.norm1(h + layer.attn.out(a))
            h = layer.norm2(h2 + layer.ff(h2))
    return F.log_softmax(model.head(model.final_norm(h)), dim=-1)


def sharp_model(pre_norm=False):
    """Short spans (about 3, ramp 4): the model's own mask would hide most of what a rule keeps; attention
    projections 4x the initial scale and a larger position table, so that what a query sees and at which
    distance shows in the outputs (sinks, heavy hitters: the cache need not end with the M positions before
    the block)."""
    model = tiny_model(seed=9, init_span_fraction=0.05, max_span=24, pre_norm=pre_norm)
    with torch.no_grad():
        torch.nn.init.normal_(model.key_pe, std=0.5)
        for layer in model.layers:
            for linear in (layer.attn.query, layer.attn.key, layer.attn.value, layer.attn.out):
                linear.weight.mul_(4)
    return model


def bits_of(log_probs: torch.Tensor, tokens: list[int]) -> np.ndarray:
    return -log_probs[torch.arange(len(tokens) - 1), torch.tensor(tokens[1:])].numpy() / math.log(2)


@pytest.mark.parametrize("name, pre_norm", [("window", False), ("sinks", False), ("keep-all", False),
                                            ("sinks", True)])
def test_15_2_rule_outputs_equal_an_uncached_pass_with_the_same_mask(name, pre_norm):
    model = sharp_model(pre_norm)
    M = model.config.block_size
    budget, sinks = (5, 13), 3
    policy = Policy(name, budget=None if name == "keep-all" else budget, sinks=sinks)
    k = [24, 24] if name == "keep-all" else list(budget)
    text = TEXT[:61]
    t = trace(model, text, policy=policy)

    def sees(layer, query, p):
        start = query // M * M
        return p >= start or p in kept_before(name, k[layer], sinks, start, M)

    tokens = list(text.encode())
    expected = bits_of(full_pass_log_probs(model, tokens, sees), tokens)
    np.testing.assert_allclose(t.bits[1:], expected, rtol=0, atol=1e-5)  # agrees to ~1e-6
    # and the trace's drops are the rule's: a token leaves at the first block start whose cache lacks it
    for layer in range(2):
        for p in range(len(tokens)):
            ends = [*range(p // M * M + M, len(tokens), M), len(tokens)]  # the last block's end too
            leaves = [b for b in ends if p not in kept_before(name, k[layer], sinks, b, M)]
            assert t.dropped_at[layer, p] == (leaves[0] if leaves else -1)
    plain = trace(model, text)
    assert np.abs(plain.bits[1:] - t.bits[1:]).max() > 1e-2  # the span mask was off: it does change the outputs


@torch.no_grad()
def test_15_2_heavy_hitters_outputs_equal_an_uncached_pass_with_the_caches_they_held():
    """The caches are the model's own choices (checked against a loop in 15.3); given them, the outputs are
    those of one uncached pass in which each block's queries see exactly those memories and their block."""
    model = sharp_model()
    M = model.config.block_size
    policy = Policy("heavy-hitters", budget=(6, 13), recent=2)
    text = TEXT[:61]
    tokens = list(text.encode())
    held = {}  # (layer, block start) -> positions its cache held
    memory = None
    for start in range(0, len(tokens), M):
        out = model(torch.tensor(tokens[start:start + M])[None], memory, policy=policy)
        memory = out.memory
        for layer, details in enumerate(out.details):
            held[layer, start] = set(details.key_position[0, :details.seen[0]].tolist())
    assert any(max(h) - min(h) >= len(h) for (_, start), h in held.items() if start > 0)  # caches with gaps

    def sees(layer, query, p):
        start = query // M * M
        return p >= start or p in held[layer, start]

    t = trace(model, text, policy=policy)
    np.testing.assert_allclose(t.bits[1:], bits_of(full_pass_log_probs(model, tokens, sees), tokens), rtol=0, atol=1e-5)


def test_15_2_positions_read_by_distance_match_the_skew_where_both_apply():
    from model.expire_span import position_scores, position_scores_at
    torch.manual_seed(0)
    B, K, T, hd, M = 2, 3, 5, 4, 6
    for N in (2, 6, 9):  # a cache shorter than M, exactly M, longer
        q, key_pe = torch.randn(B, K, T, hd), torch.randn(hd, M)
        key_position = torch.arange(-N, T).expand(B, N + T)
        distance = (torch.arange(T)[:, None] - key_position[:, None, :]).float()
        torch.testing.assert_close(position_scores_at(q, key_pe, distance), position_scores(q, key_pe, N + T))
    # a policy's cache with gaps (sinks, heavy hitters): q_t . key_pe[:, d - 1] for d in 1..M, else 0, by loop
    key_position = torch.tensor([[0, 1, 7, 9, 12, 13, 14, 15, 16]])  # a block of T = 5 from 12 (t0 = 12)
    distance = (12 + torch.arange(T)[:, None] - key_position[:, None, :]).float()
    q = torch.randn(1, K, T, hd)
    got = position_scores_at(q, key_pe, distance)
    for t in range(T):
        for j, p in enumerate(key_position[0].tolist()):
            d = 12 + t - p
            want = q[0, :, t] @ key_pe[:, d - 1] if 1 <= d <= M else torch.zeros(K)
            torch.testing.assert_close(got[0, :, t, j], want)
