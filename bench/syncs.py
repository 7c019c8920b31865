"""Host synchronisations in one trace: the operations that would make the CPU wait for a CUDA GPU.

    OMP_NUM_THREADS=1 python bench/syncs.py [--bytes 4096] [--json bench/results/syncs.json]

Traces the first --bytes of assets/examples/*.txt concatenated (sorted by name, as bench/policies.py reads
them; no single example is 4,096 bytes long) through checkpoints/text (Expire-Span) and checkpoints/text-txl
(its Transformer-XL baseline), on the CPU, and counts every call that on a GPU reads device data back to
the host or waits for it (SyncCounter):

- aten ops, through a TorchDispatchMode: .item(), int(t), bool(t), float(t) (_local_scalar_dense; item itself
  under inference mode), nonzero, masked_select, unique*, repeat_interleave without output_size, index and
  index_put with a bool index;
- copies, through a TorchFunctionMode (on the CPU they are no-ops the dispatcher never sees): .cpu(),
  .numpy(), .tolist(), np.asarray of a device tensor (device to host), and .to(device) of a tensor made on
  the host (torch.from_numpy, torch.tensor): a blocking copy either way ends in cudaStreamSynchronize.

Each call is put down to the innermost source line under model/. Prints a table (per model: blocks of M
traced, syncs, syncs per block, by op and by source line) and writes the figures as JSON.
"""
import argparse
import json
import linecache
import traceback
from collections import Counter
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

from model import ExpireSpanLM, trace
from model.trace import BLOCKS_PER_PASS

ROOT = Path(__file__).resolve().parents[1]

# What a CPU run cannot show (printed with the table and written to the JSON).
NOT_COUNTED = [
    "syncs inside CUDA kernels or libraries themselves (none are known on this path)",
    "allocator syncs: cudaFree when the caching allocator releases or grows memory",
    ".to(device) of a tensor already on a device is taken as staying there (on a CPU run every device is cpu)",
    "copies of empty tensors (a block that drops nothing) are left out: copy_ returns before reaching the GPU",
    "non_blocking copies (not a sync until their result is read on the host; none on this path)",
]

ATEN_SYNCS = {"_local_scalar_dense", "item", "is_nonzero", "nonzero", "masked_select", "unique", "_unique", "_unique2",
              "unique_dim", "unique_consecutive", "unique_dim_consecutive"}
BOOL_INDEXED = {"index", "index_put", "index_put_", "_index_put_impl_"}
D2H = {"cpu", "numpy", "tolist", "__array__"}


def _tensors(args, kwargs):
    return [a for a in tree_flatten((args, kwargs or {}))[0] if isinstance(a, torch.Tensor)]


class _Dispatch(TorchDispatchMode):
    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._overloadpacket.__name__
        if name in ATEN_SYNCS or (name == "repeat_interleave" and (kwargs or {}).get("output_size") is None):
            self.counter._sync(f"aten.{name}", _tensors(args, kwargs))
        elif name in BOOL_INDEXED and any(i is not None and i.dtype in (torch.bool, torch.uint8) for i in args[1]):
            self.counter._sync(f"aten.{name} (bool index)", _tensors(args, kwargs))
        return func(*args, **(kwargs or {}))


class _Function(TorchFunctionMode):
    """Copies between host and device, and which tensors live on the host (made there, or copied there)."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        inputs = _tensors(args, kwargs)
        host = self.counter.host
        if name in ("cpu", "numpy", "tolist", "__array__", "to", "cuda") and args and _empty(args[0]):
            pass  # an empty copy returns before it reaches the GPU (copy_ exits early when there is nothing to copy)
        elif name in D2H and args and not self.counter.on_host(args[0]):
            self.counter._sync(f"Tensor.{name} (device to host)", [])
        elif name in ("to", "cuda") and args and args[0] in host and _device_arg(args[1:], kwargs):
            self.counter._sync(f"Tensor.{name} (host to device)", [])
        out = func(*args, **kwargs)
        moved = name == "cuda" or (name == "to" and _device_arg(args[1:], kwargs))
        if (name == "cpu" or moved) and out is args[0]:
            out = out.view_as(out)  # on a CPU run both are the tensor itself: the copy must be another one
        made_on_host = name in ("tensor", "as_tensor") and "device" not in kwargs
        if made_on_host or name == "cpu" or (inputs and all(t in host for t in inputs) and not moved):
            for t in _tensors((out,), None):
                host[t] = True
        return out


def _empty(t) -> bool:
    return isinstance(t, torch.Tensor) and t.numel() == 0


def _device_arg(args, kwargs):
    return "device" in kwargs or any(isinstance(a, (torch.device, str)) for a in args)


class SyncCounter:
    """Counts, while active, the calls that would force a CUDA host sync: `.total`, `.by_op` (Counter of op
    names) and `.by_site` (Counter of (file:line, source text), the innermost frame under `under`, else the
    innermost frame outside torch and this file)."""

    def __init__(self, under=ROOT / "model"):
        self.under = str(under)
        self.total = 0
        self.by_op, self.by_site = Counter(), Counter()
        self.host = WeakIdKeyDictionary()  # tensors on the host (their reads are no syncs)
        self._modes = [_Function(self), _Dispatch(self)]

    def on_host(self, t) -> bool:
        return not isinstance(t, torch.Tensor) or t in self.host

    def _sync(self, op, inputs):
        if inputs and all(t in self.host for t in inputs):
            return  # every input on the host: nothing to wait for
        self.total += 1
        self.by_op[op] += 1
        self.by_site[self._site()] += 1

    def _site(self):
        frames = traceback.extract_stack()[:-3]
        ours = [f for f in frames if f.filename.startswith(self.under)]
        if not ours:
            ours = [f for f in frames if "/torch/" not in f.filename and f.filename != __file__] or frames
        f = ours[-1]
        path = Path(f.filename)
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        return f"{where}:{f.lineno}", (linecache.getline(f.filename, f.lineno) or f.line or "").strip()

    def _from_numpy(self, array):  # torch.from_numpy never reaches a TorchFunctionMode: wrapped while counting
        t = self._numpy_to_torch(array)
        self.host[t] = True
        return t

    def __enter__(self):
        self._numpy_to_torch, torch.from_numpy = torch.from_numpy, self._from_numpy
        for mode in self._modes:
            mode.__enter__()
        return self

    def __exit__(self, *exc):
        for mode in reversed(self._modes):
            mode.__exit__(*exc)
        torch.from_numpy = self._numpy_to_torch


def count(model, data) -> SyncCounter:
    with SyncCounter() as counter:
        trace(model, data)
    return counter


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", type=int, default=4096)
    parser.add_argument("--json", default=str(ROOT / "bench" / "results" / "syncs.json"))
    args = parser.parse_args()
    data = b"".join(p.read_bytes() for p in sorted((ROOT / "assets" / "examples").glob("*.txt")))[: args.bytes]

    rows = []
    for name, folder in [("expire-span", "checkpoints/text"), ("transformer-xl", "checkpoints/text-txl")]:
        model = ExpireSpanLM.from_pretrained(ROOT / folder).eval()
        counter = count(model, data)
        M = model.config.block_size
        blocks, passes = -(-len(data) // M), -(-len(data) // (BLOCKS_PER_PASS * M))
        rows.append(dict(model=name, checkpoint=folder, bytes=len(data), block_size=M, blocks=blocks,
                         passes=passes, n_layers=model.config.n_layers, syncs=counter.total,
                         per_block=round(counter.total / blocks, 2), by_op=dict(counter.by_op.most_common()),
                         by_site=[dict(site=site, code=code, count=n, per_block=round(n / blocks, 2))
                                  for (site, code), n in counter.by_site.most_common()]))

    print(f"torch {torch.__version__}, CPU; {len(data)} bytes of assets/examples/*.txt; "
          f"syncs a CUDA run would make (per block: over blocks of M, {BLOCKS_PER_PASS} blocks a pass)")
    print(f"{'model':<16}{'blocks':>7}{'passes':>7}{'syncs':>7}{'per block':>10}")
    for r in rows:
        print(f"{r['model']:<16}{r['blocks']:>7}{r['passes']:>7}{r['syncs']:>7}{r['per_block']:>10.2f}")
    for r in rows:
        print(f"\n{r['model']}: by op")
        for op, n in r["by_op"].items():
            print(f"  {n:>6}{n / r['blocks']:>7.2f}/block  {op}")
        print(f"{r['model']}: by source line")
        for s in r["by_site"]:
            print(f"  {s['count']:>6}{s['per_block']:>7.2f}/block  {s['site']:<30} {s['code'][:70]}")
    print("\nnot counted on a CPU run: " + "; ".join(NOT_COUNTED))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"bytes": len(data), "text": "assets/examples/*.txt",
                                           "not_counted": NOT_COUNTED, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
