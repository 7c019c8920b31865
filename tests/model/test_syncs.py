"""bench/syncs.py's SyncCounter: known syncs in hand-made code, and a traced tiny model (unchanged by counting)."""
import importlib.util

import numpy as np
import torch

from support import ROOT, tiny_model
from model import ExpireSpanConfig, trace
from model.expire_span import plan_cache, read_counts
from model.trace import BLOCKS_PER_PASS

spec = importlib.util.spec_from_file_location("bench_syncs", ROOT / "bench" / "syncs.py")
syncs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(syncs)
SyncCounter = syncs.SyncCounter

HERE = "tests/model/test_syncs.py"


def three_syncs(x):
    a = x.sum().item()
    b = x.max().item()
    where = torch.nonzero(x > 0)
    return a, b, where


def test_counts_item_and_nonzero_with_their_lines():
    x = torch.arange(-3.0, 5.0)
    with SyncCounter(under=ROOT / "tests") as counter:
        three_syncs(x)
    assert counter.total == 3
    assert counter.by_op == {"aten._local_scalar_dense": 2, "aten.nonzero": 1}
    codes = {code: n for (site, code), n in counter.by_site.items()}
    assert codes == {"a = x.sum().item()": 1, "b = x.max().item()": 1, "where = torch.nonzero(x > 0)": 1}
    assert all(site.startswith(HERE + ":") for site, _ in counter.by_site)


def test_counts_casts_masks_and_copies_but_not_host_tensors():
    x = torch.arange(6.0) - 2  # made by torch itself: a device tensor on a GPU run
    with SyncCounter(under=ROOT / "tests") as counter:
        int(x[0]), bool(x[1] > 0), float(x[2])   # three scalar reads
        x[x > 0]                                # a bool-mask index
        x.cpu().numpy()                         # one copy to the host (numpy of it is free)
        x.tolist()                              # one more
        host = torch.from_numpy(np.ones(3))     # made on the host: reading it waits for nothing
        host.sum().item(), host[0].tolist()
        host.to(x.device)                       # a blocking copy to the device
    assert counter.by_op == {"aten._local_scalar_dense": 3, "aten.index (bool index)": 1,
                             "Tensor.cpu (device to host)": 1, "Tensor.tolist (device to host)": 1,
                             "Tensor.to (host to device)": 1}
    assert counter.total == 7
    assert sum(counter.by_site.values()) == counter.total


def test_a_traced_tiny_model_syncs_and_is_unchanged():
    data = bytes(np.random.default_rng(0).integers(32, 127, 100).tolist())
    for expire_span in (True, False):
        model = tiny_model(seed=2, expire_span=expire_span)
        plain = trace(model, data)
        with SyncCounter() as counter:
            counted = trace(model, data)
        assert counter.total > 0
        assert all(site.startswith("model/") for site, _ in counter.by_site)
        for name in ("tokens", "spans", "dropped_at", "cache_size", "bits", "predictions"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(counted, name), err_msg=name)
        # per pass: the tokens up, one copy of the record back, and (Expire-Span) one read of every layer's drop
        # counts (model.expire_span.read_counts)
        passes = -(-len(data) // (model.config.block_size * BLOCKS_PER_PASS))
        per_pass = 2 + (1 if expire_span else 0)
        assert counter.total <= passes * per_pass, counter.by_site


def test_counts_scalar_reads_under_inference_mode():
    x = torch.arange(4.0)
    with torch.inference_mode(), SyncCounter(under=ROOT / "tests") as counter:
        int(x.sum()), x.max().item(), bool((x > 2).any())
    assert counter.total == 3


def test_empty_copies_are_not_syncs():
    x = torch.arange(4)
    with SyncCounter(under=ROOT / "tests") as counter:
        x[:0].cpu().numpy(), x[:0].tolist()
    assert counter.total == 0


def test_the_drop_rule_decides_on_the_device_and_every_layer_is_read_at_once():
    cfg = ExpireSpanConfig(vocab_size=10, n_layers=1, d_model=8, n_heads=1, d_ff=8, block_size=4, max_span=100, ramp=2)
    t0, S = 16, 24  # 16 cached memories and a pass of two M-blocks
    position = torch.arange(t0 - 16, t0 + 8).expand(2, S)
    spans = torch.full((2, S), 50.0)
    spans[:, :9] = 0.0  # 9 droppable in each row after the first M-block: 8 go (7.3)
    hidden = torch.randn(2, S, 8)
    with SyncCounter() as counter:
        updates = [plan_cache(hidden, position, spans, t0, cfg, n_cached=16) for _ in range(3)]  # three layers
    assert counter.total == 0  # nothing read back while the layers decide
    with SyncCounter() as counter:
        counts = read_counts(updates)
    assert counter.total == 1 and counts == [[8, 0]] * 3
    memory, dropped, seen = updates[0].finish(counts[0])
    assert seen == [16, 12] and [d.shape for d in dropped] == [(2, 8), (2, 0)]
    assert dropped[0][0].tolist() == list(range(8)) and memory.position[0].tolist() == list(range(8, 24))
