"""Train an Expire-Span model (or its Transformer-XL baseline) from a TOML config.

    python -m model.train --config configs/text.toml            # resumes from its own last state
    torchrun --nproc_per_node 2 -m model.train --config ...      # data-parallel (DDP)

Adam with linear warm-up and no decay, gradient clipping (docs/method.md section 9). Every batch row walks its own
contiguous slice of the stream and carries its memory from block to block. State (weights, optimiser,
memories, data position, RNG) is saved as safetensors + JSON every `save_every` steps and at the end;
a run started again continues where it stopped, and refuses to if its config changed. A save is atomic as a
set: a step's files go into a new folder `state-<step>-<time>/`, then one pointer file `latest` is switched to it, so
a run killed at any moment resumes from one whole step. Metrics go to
`metrics.jsonl`; the final model to `<out_dir>/final` (config.json + model.safetensors), and with `keep_every`
the weights along the way to `<out_dir>/step-<N>/`.
`train.init_from` starts a fresh run from a checkpoint's weights (fine-tuning): same architecture, and
only how it is trained (span loss, noise, dropout, initial span) may differ from the checkpoint; a Transformer-XL
baseline may start from an Expire-Span checkpoint (its span predictors left out, its own max_span).
"""
import argparse
import json
import math
import os
import re
import shutil
import stat
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from .batches import make_walker, task_vocab_size
from .cli import command
from .config import ExpireSpanConfig
from .errors import ConfigError, ExpireSpanError
from .files import check_target, read_small, read_small_text
from .jsonfile import read_small_json
from .expire_span import ExpireSpanLM, LayerMemory, Memory
from .metrics import LN2, eval_blocks, evaluate

# Settings a resumed run may change: they say how long and how often, not what is learned.
SCHEDULE_KEYS = {"steps", "eval_every", "eval_tokens", "eval_batch_size", "log_every", "save_every", "keep_every",
                 "out_dir"}
# The folders a save writes (its step, then the time in ns; or the step's temporary folder): the only ones a run
# ever deletes, matched by their whole name.
STATE_FOLDER = re.compile(r"state-[0-9]{8,}-[0-9]+|state-[0-9]{8,}\.tmp")
LEGACY_MEMORY = re.compile(r"memory-rank[0-9]+\.safetensors")
MAX_STEP = 10 ** 12  # more optimiser steps than any run takes: a larger saved step is damage
MAX_CONFIG_BYTES = 1 << 20  # a TOML run config, a checkpoint's config.json, a saved state.json
MAX_SHIFT = 8  # a span-predictor bias shift beyond this saturates the sigmoid (every span 0 or L)
ADAM_STATE = {"step", "exp_avg", "exp_avg_sq"}


@dataclass
class TrainConfig:
    batch_size: int = 16         # rows over all processes
    steps: int = 1000            # optimiser steps (one block of M tokens per row each)
    lr: float = 7e-4
    warmup: int = 200
    grad_clip: float = 0.3
    seed: int = 0
    eval_every: int = 500
    eval_tokens: int = 65536
    eval_batch_size: int = 8
    log_every: int = 20
    save_every: int = 200
    keep_every: int = 0          # also keep the weights every this many steps in <out_dir>/step-<N>/; 0: never
    out_dir: str = "runs/default"
    init_from: str = ""          # a checkpoint folder whose weights start a fresh run (fine-tuning)
    # added to each layer's span-predictor bias when init_from starts a run (docs/method.md 16.6); [] for none
    span_shift: list = field(default_factory=list)

    def problems(self):
        out = []
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type is int and (isinstance(v, bool) or not isinstance(v, int)):
                out.append(f"train.{f.name} must be an integer (got {v!r})")
            elif f.type is float and (isinstance(v, bool) or not isinstance(v, (int, float))):
                out.append(f"train.{f.name} must be a number (got {v!r})")
            elif f.type is float and not math.isfinite(v):
                out.append(f"train.{f.name} must be a finite number (got {v!r})")
            elif f.type is str and not isinstance(v, str):
                out.append(f"train.{f.name} must be a string (got {v!r})")
            elif f.type is list and not (isinstance(v, list) and all(_is_shift(x) for x in v)):
                out.append(f"train.{f.name} must be a list of numbers from -{MAX_SHIFT} to {MAX_SHIFT} "
                           f"(got {str(v)[:60]})")
        if out:
            return out
        for name in ("batch_size", "steps", "eval_every", "eval_tokens", "eval_batch_size", "log_every", "save_every"):
            if getattr(self, name) < 1:
                out.append(f"train.{name} must be >= 1 (got {getattr(self, name)})")
        if self.keep_every < 0:
            out.append(f"train.keep_every must be >= 0 (got {self.keep_every})")
        if not self.lr > 0:
            out.append(f"train.lr must be > 0 (got {self.lr})")
        if self.warmup < 0 or self.grad_clip < 0:
            out.append("train.warmup and train.grad_clip must be >= 0")
        if not self.out_dir.strip() or Path(self.out_dir) == Path("."):
            out.append("train.out_dir must name a folder of its own (not empty, not \".\"): a run keeps its state "
                       "folders there and deletes the old ones")
        elif os.path.lexists(self.out_dir) and not os.path.isdir(self.out_dir):
            out.append(f"train.out_dir {self.out_dir[:120]!r} exists and is not a folder")
        return out


@dataclass
class RunConfig:
    model: ExpireSpanConfig
    task: str
    data: dict
    train: TrainConfig

    def to_dict(self):
        return {"model": self.model.to_dict(), "data": {"task": self.task, **self.data}, "train": asdict(self.train)}


def load_run_config(path) -> RunConfig:
    """Read and check a TOML run config; unknown keys and impossible values stop here, before training."""
    text = read_small_text(path, MAX_CONFIG_BYTES, str(path), ConfigError)  # a regular file, UTF-8, bounded
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {' '.join(str(e).split())[:200]}") from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to be a run config") from None
    return parse_run_config(raw, path)


def parse_run_config(raw: dict, path="config") -> RunConfig:
    """Check a run config given as {"model": ..., "data": ..., "train": ...} (as run_config.json holds)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a run config must be a table of model, data and train")
    unknown = sorted(str(k)[:40] for k in set(raw) - {"model", "data", "train"})
    if unknown:
        raise ConfigError(f"{path}: unknown sections {', '.join(unknown[:8])} (use model, data, train)")
    for section in ("model", "data", "train"):
        if not isinstance(raw.get(section, {}), dict):
            raise ConfigError(f"{path}: [{section}] must be a table (got {type(raw[section]).__name__})")
    data = dict(raw.get("data", {}))
    task = data.pop("task", None)
    if task is None:
        raise ConfigError(f"{path}: [data] needs task = \"text\", \"collision\" or \"corridor\"")
    if not isinstance(task, str):  # a string the tasks do not know is named by task_vocab_size
        raise ConfigError(f"{path}: data.task must be \"text\", \"collision\" or \"corridor\" (got {str(task)[:40]})")
    vocab = task_vocab_size(task, {k: v for k, v in data.items() if k != "corpus"} if task != "text" else {})
    if task == "text" and set(data) - {"corpus"}:
        raise ConfigError(f"{path}: unknown [data] keys for text: {', '.join(sorted(set(data) - {'corpus'}))}")
    model_values = dict(raw.get("model", {}))
    if model_values.setdefault("vocab_size", vocab) != vocab:
        raise ConfigError(f"{path}: model.vocab_size must be {vocab} for the {task} task")
    model = ExpireSpanConfig.from_dict(model_values)
    train_values = raw.get("train", {})
    known = {f.name for f in fields(TrainConfig)}
    if set(train_values) - known:
        unknown = sorted(str(k)[:40] for k in set(train_values) - known)
        raise ConfigError(f"{path}: unknown [train] keys: {', '.join(unknown[:8])}")
    train = TrainConfig(**train_values)
    problems = train.problems()
    if train.batch_size % world_size():
        problems.append(f"train.batch_size ({train.batch_size}) must divide among {world_size()} processes")
    if not problems and train.span_shift:
        if not (train.init_from and model.expire_span and len(train.span_shift) == model.n_layers):
            problems.append(f"train.span_shift needs init_from, expiring spans and one number per layer "
                            f"({model.n_layers})")
    if not problems and train.init_from:
        problems += init_from_problems(train.init_from, model)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return RunConfig(model, task, data, train)


# What a fine-tuning run may set differently from the checkpoint it starts from: how it is trained.
TRAINING_ONLY = {"span_loss", "span_noise", "dropout", "init_span_fraction", "position_init"}
# A Transformer-XL baseline may start from an Expire-Span checkpoint (the same weights as its partner's start):
# it drops the span predictors and keeps the nearest max_span memories instead.
EXPIRY_ONLY = {"expire_span", "max_span", "ramp", "pre_div"}


def init_from_problems(folder: str, model: ExpireSpanConfig) -> list[str]:
    """A checkpoint to start from must exist and have the [model] section's architecture."""
    config_path, weights_path = Path(folder) / "config.json", Path(folder) / "model.safetensors"
    if not (config_path.is_file() and weights_path.is_file()):
        return [f"train.init_from: {folder} has no config.json and model.safetensors"]
    theirs = read_small_json(config_path, f"train.init_from: {str(config_path)[:200]}", MAX_CONFIG_BYTES, "config",
                             ConfigError)
    if not isinstance(theirs, dict):
        raise ConfigError(f"train.init_from: {str(config_path)[:200]} must hold a JSON object")
    ours = model.to_dict()
    free = TRAINING_ONLY | (EXPIRY_ONLY if theirs.get("expire_span", True) and not model.expire_span else set())
    if theirs.get("expire_span") is False and not model.expire_span:
        free |= {"max_span"}  # a Transformer-XL's L is not in its weights (key_pe covers one block)
    differ = sorted(k for k in set(theirs) | set(ours) if k not in free and theirs.get(k) != ours.get(k))
    return [f"train.init_from: {folder} differs from [model] in {', '.join(differ)}"] if differ else []


def initial_weights(folder: str, model: ExpireSpanLM) -> dict:
    """The state dict a fine-tuning run starts from; a Transformer-XL started from an Expire-Span checkpoint
    leaves out its span predictors."""
    state = ExpireSpanLM.from_pretrained(folder).state_dict()
    if not model.config.expire_span:
        state = {k: v for k, v in state.items() if ".span_predictor." not in k}
    return state


def shift_spans(model: ExpireSpanLM, shift: list) -> None:
    """Add shift[l] to layer l's span-predictor bias: every span of the layer starts longer (or shorter), as if
    the fine-tuning run had begun from that predictor (docs/method.md 16.6)."""
    with torch.no_grad():
        for layer, delta in zip(model.layers, shift):
            layer.attn.span_predictor.bias += float(delta)


def _is_shift(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= MAX_SHIFT


def env_whole(name: str, default: int, least: int = 0) -> int:
    """An environment variable set by torchrun (WORLD_SIZE, RANK, LOCAL_RANK): a whole number from `least` to
    1,000,000; anything else is a ConfigError."""
    value = os.environ.get(name, str(default))
    if not (value.isascii() and value.isdigit() and least <= int(value) <= 1_000_000):
        raise ConfigError(f"{name} must be a whole number of at least {least} (got {value[:20]!r})")
    return int(value)


def world_size() -> int:
    return env_whole("WORLD_SIZE", 1, least=1)


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then constant (docs/method.md section 9)."""
    return cfg.lr * min(1.0, (step + 1) / max(cfg.warmup, 1))


class Run:
    """One training run: model, optimiser, data walker and memory, with save and resume."""

    def __init__(self, cfg: RunConfig, device: torch.device, rank: int = 0, world: int = 1):
        self.cfg, self.device, self.rank, self.world = cfg, device, rank, world
        self.out = Path(cfg.train.out_dir)
        torch.manual_seed(cfg.train.seed)
        self.model = ExpireSpanLM(cfg.model).to(device).train()
        self.ddp = None
        if world > 1:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.train.lr)
        M, B = cfg.model.block_size, cfg.train.batch_size // world
        n_train = cfg.train.steps * cfg.train.batch_size * M
        self.walker = make_walker(cfg.task, cfg.data, "train", B, M, cfg.train.seed, n_train,
                                  row_offset=rank * B, n_rows=cfg.train.batch_size)
        self.memory = None
        self.step = 0
        self.seconds = 0.0  # training time over all sessions of this run
        torch.manual_seed(cfg.train.seed + 1 + rank)  # noise and dropout streams differ per process

    # ---- state on disk: safetensors for tensors, JSON for the rest; never pickle ----
    # A step's files are written into out/state-<step>-<ns>.tmp/, renamed to out/state-<step>-<ns>/, and
    # only then the pointer out/latest (one line: the folder's name) is replaced; older folders go last.
    def save(self):
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.out / f"state-{self.step:08d}.tmp"  # shared by all processes
        if self.rank == 0:
            if _is_real_folder(tmp):
                shutil.rmtree(tmp)  # left by a save that was killed
            elif os.path.lexists(tmp):
                raise ConfigError(f"{tmp} exists and is not a folder this run wrote; move it away and start again")
            for name in ("latest", "latest.tmp"):
                check_target(self.out / name)
            tmp.mkdir()
        if self.world > 1:
            dist.barrier()
        tensors = {f"memory.{i}.{k}": getattr(layer, k).contiguous().cpu()
                   for i, layer in enumerate(self.memory.layers) for k in ("hidden", "position")} if self.memory else {}
        tensors["rng.torch"] = torch.get_rng_state()
        save_file(tensors, str(tmp / f"memory-rank{self.rank}.safetensors"))
        if self.world > 1:
            dist.barrier()
        if self.rank != 0:
            return
        tensors = {f"model.{k}": v.contiguous().cpu() for k, v in self.model.state_dict().items()}
        opt = self.optimizer.state_dict()
        for index, state in opt["state"].items():
            for k, v in state.items():
                tensors[f"optim.{index}.{k}"] = torch.as_tensor(v).cpu()
        save_file(tensors, str(tmp / "state.safetensors"))
        meta = {"step": self.step, "walker_step": self.walker.step, "world": self.world,
                "seconds": round(self.seconds, 1), "memory_t0": self.memory.t0 if self.memory else 0,
                "config": self.cfg.to_dict()}
        write_text(tmp / "state.json", json.dumps(meta, indent=2))
        name = f"state-{self.step:08d}-{time.time_ns()}"  # new every time: never onto the folder pointed at
        os.replace(tmp, self.out / name)
        write_text(self.out / "latest.tmp", name + "\n")
        os.replace(self.out / "latest.tmp", self.out / "latest")
        for p in list(self.out.iterdir()):  # only the run's own older state folders, by their whole name
            if p.name != name and STATE_FOLDER.fullmatch(p.name) and _is_real_folder(p):
                shutil.rmtree(p, ignore_errors=True)
        for legacy in list(self.out.iterdir()):  # the layout before saves became folders: regular files only
            if (legacy.name in ("state.json", "state.safetensors") or LEGACY_MEMORY.fullmatch(legacy.name)) \
                    and stat.S_ISREG(os.lstat(legacy).st_mode):
                legacy.unlink(missing_ok=True)

    def _latest(self) -> Path | None:
        """The folder of the last whole save (out/latest names it), else None."""
        pointer = self.out / "latest"
        if not pointer.is_file():
            return None
        raw = read_small(pointer, 200, str(pointer), ConfigError)  # a regular file of one short line
        name = raw.decode("utf-8", errors="replace").strip()
        if not STATE_FOLDER.fullmatch(name) or name.endswith(".tmp"):
            raise ConfigError(f"{pointer} is corrupt (names {name[:40]!r}); start over with --fresh")
        return self.out / name

    def resume(self) -> bool:
        """Load the last whole save, if any; a damaged one is a ConfigError that says so (never a traceback)."""
        folder = self._latest()
        if folder is None:
            if not (self.out / "state.json").exists():
                return False
            folder = self.out  # a run saved before saves became folders
        meta_path = folder / "state.json"
        try:
            meta = json.loads(read_small(meta_path, MAX_CONFIG_BYTES, str(meta_path), ConfigError))
            if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
                raise TypeError("not a saved state")
            old, new = meta["config"], self.cfg.to_dict()
            changed = [f"{s}.{k}" for s in new for k in set(new[s]) | set(old.get(s, {}))
                       if old.get(s, {}).get(k) != new[s].get(k) and not (s == "train" and k in SCHEDULE_KEYS)]
        except ConfigError as e:  # not a regular file, or too large: refused unread
            raise ConfigError(f"cannot resume: {e}; start over with --fresh") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
            raise ConfigError(f"cannot resume from {meta_path}: it is missing or corrupt ({_first_line(e)}); "
                              "start over with --fresh") from None
        if changed:
            raise ConfigError(f"{self.out} holds a run with a different config (changed: "
                              f"{', '.join(sorted(changed))}); "
                              "use another train.out_dir, or --fresh to start this one over")
        if meta.get("world") != self.world:
            raise ConfigError(f"{self.out} was saved by {str(meta.get('world'))[:20]} processes, not {self.world}")
        problem = saved_state_problem(meta)
        if problem:
            raise ConfigError(f"cannot resume from {meta_path}: {problem}; start over with --fresh")
        try:
            tensors = load_file(str(folder / "state.safetensors"))
            mem = load_file(str(folder / f"memory-rank{self.rank}.safetensors"))
        except Exception as e:  # safetensors raises many types for a damaged file
            raise ConfigError(f"cannot resume from {folder}: its saved state is damaged ({_first_line(e)}); "
                              "start over with --fresh") from None
        problem = self._tensor_problem(tensors, mem, bool(meta["memory_t0"]))
        if problem:
            raise ConfigError(f"cannot resume from {folder}: {problem}; start over with --fresh")
        try:
            self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            opt = self.optimizer.state_dict()
            for index in range(len(opt["param_groups"][0]["params"])):
                keys = [k for k in tensors if k.startswith(f"optim.{index}.")]
                opt["state"][index] = {k.split(".", 2)[2]: tensors[k] for k in keys}
            self.optimizer.load_state_dict(opt)
            torch.set_rng_state(mem["rng.torch"])
            if meta["memory_t0"]:
                layers = [LayerMemory(mem[f"memory.{i}.hidden"].to(self.device),
                                      mem[f"memory.{i}.position"].to(self.device))
                          for i in range(self.cfg.model.n_layers)]
                self.memory = Memory(layers, meta["memory_t0"])
            self.step, self.seconds = int(meta["step"]), float(meta.get("seconds", 0.0))
            self.walker.restore(meta["walker_step"])
        except Exception as e:  # safetensors and torch raise many types for a damaged file
            raise ConfigError(f"cannot resume from {folder}: its saved state is damaged ({_first_line(e)}); "
                              "start over with --fresh") from None
        return True

    def _tensor_problem(self, tensors: dict, mem: dict, has_memory: bool) -> str | None:
        """What makes saved tensors unfit for this run's config, else None: every weight, optimiser moment and
        (when the save has one) memory of the shape and dtype the config implies, and nothing else."""
        def wrong(name, value, shape, dtype):
            if value is None:
                return f"its saved state lacks {name}"
            if tuple(value.shape) != tuple(shape) or value.dtype != dtype:
                return (f"its saved {name} is {value.dtype} {tuple(value.shape)}, the config implies "
                        f"{dtype} {tuple(shape)}")
            return None
        weights = self.model.state_dict()
        params = list(self.model.parameters())
        expected = {f"model.{k}": (v.shape, v.dtype) for k, v in weights.items()}
        for name in sorted(k for k in tensors if k.startswith("optim.")):
            index, _, key = name[6:].partition(".")
            if not index.isdigit() or int(index) >= len(params) or key not in ADAM_STATE:
                return f"its saved state holds {name[:80]}, which no optimiser state of this model is"
            param = params[int(index)]
            expected[name] = ((), torch.float32) if key == "step" else (param.shape, param.dtype)
        extra = sorted(set(tensors) - set(expected))
        if extra:
            return f"its saved state holds {extra[0][:80]}, which this model does not have"
        for name, (shape, dtype) in expected.items():
            problem = wrong(name, tensors.get(name), shape, dtype)
            if problem:
                return problem
        rng = torch.get_rng_state()
        problem = wrong("rng.torch", mem.get("rng.torch"), rng.shape, rng.dtype)
        if problem or not has_memory:
            return problem
        rows, width = self.cfg.train.batch_size // self.world, self.cfg.model.d_model
        for i in range(self.cfg.model.n_layers):
            hidden, position = mem.get(f"memory.{i}.hidden"), mem.get(f"memory.{i}.position")
            n = hidden.shape[1] if hidden is not None and hidden.dim() == 3 else 0
            problem = (wrong(f"memory.{i}.hidden", hidden, (rows, n, width), weights["embed.weight"].dtype)
                       or wrong(f"memory.{i}.position", position, (rows, n), torch.int64))
            if problem:
                return problem
        return None

    def train_step(self) -> dict:
        cfg = self.cfg.train
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, cfg)
        x, y, reset = self.walker.next()
        if reset:
            self.memory = None
        x, y = torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)
        out = (self.ddp or self.model)(x, self.memory, targets=y)
        loss = out.loss + (out.span_loss if out.span_loss is not None else 0.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.memory = out.memory
        self.step += 1
        spans = [d.spans.mean().item() for d in out.details if d.spans is not None]
        return {"loss_bits": out.loss.item() / LN2,
                "span_loss": out.span_loss.item() if out.span_loss is not None else 0.0,
                "mean_span": float(np.mean(spans)) if spans else float(self.cfg.model.max_span),
                "kept": float(np.mean([d.key_position.shape[1] - x.shape[1] for d in out.details]))}


def _whole(value, least: int = 0, most: int = MAX_STEP) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and least <= value <= most


def saved_state_problem(meta: dict) -> str | None:
    """What makes a saved state.json untrustworthy, else None: the step a whole number in 0..MAX_STEP, the data
    walker exactly there (one block a step), the memory's start a whole number, the seconds a finite number."""
    step, walker = meta.get("step"), meta.get("walker_step")
    if not _whole(step):
        return f"its step must be a whole number from 0 to {MAX_STEP:,} (got {str(step)[:40]})"
    if not _whole(walker) or walker != step:
        return f"its walker_step must equal its step {step:,}, one block a step (got {str(walker)[:40]})"
    if not _whole(meta.get("memory_t0", 0), 0, MAX_STEP * 2 ** 20):
        return f"its memory_t0 must be a whole number of at least 0 (got {str(meta.get('memory_t0'))[:40]})"
    seconds = meta.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < float("inf"):
        return f"its seconds must be a finite number of at least 0 (got {str(seconds)[:40]})"
    return None


def _is_real_folder(path: Path) -> bool:
    """A folder itself (os.lstat), not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def write_text(path: Path, text: str) -> None:
    """Write a whole small file (one step of a save; tests interrupt between these)."""
    path.write_text(text, encoding="utf-8")


def _first_line(e: BaseException, limit: int = 160) -> str:
    text = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return text[:limit]


def trim_metrics(path: Path, step: int) -> None:
    """Drop metrics.jsonl lines past `step` (written after the save a resumed run starts from)."""
    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            if int(json.loads(line)["step"]) <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    write_text(path.with_name(path.name + ".tmp"), "".join(k + "\n" for k in kept))
    os.replace(path.with_name(path.name + ".tmp"), path)


def progress_line(step, total, stats, tokens_per_s, eta_s) -> str:
    done = int(30 * step / total)
    return (f"[{'#' * done}{'.' * (30 - done)}] {100 * step / total:5.1f}% step {step}/{total} "
            f"loss {stats['loss_bits']:.3f} bits  span {stats['mean_span']:.0f}  kept {stats['kept']:.0f}  "
            f"{tokens_per_s:,.0f} tok/s  eta {eta_s / 60:.0f} min")


def train(cfg: RunConfig, fresh: bool = False, device: str = "auto") -> Path:
    rank, world = env_whole("RANK", 0), world_size()
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    dev = torch.device(f"cuda:{env_whole('LOCAL_RANK', 0)}" if use_cuda else "cpu")
    run = Run(cfg, dev, rank, world)
    out = run.out
    if fresh and rank == 0:
        for name in ("latest", "state.json", "metrics.jsonl"):
            (out / name).unlink(missing_ok=True)
    if world > 1:
        dist.barrier()
    resumed = run.resume()
    if rank == 0:
        trim_metrics(out / "metrics.jsonl", run.step)
    if not resumed and cfg.train.init_from:  # a resumed run has its own weights
        run.model.load_state_dict(initial_weights(cfg.train.init_from, run.model))
        shift_spans(run.model, cfg.train.span_shift)
    log = (out / "metrics.jsonl") if rank == 0 else None
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        check_target(out / "run_config.json")
        (out / "run_config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        print(f"{'resumed at step ' + str(run.step) if resumed else 'starting'}: {cfg.task}, "
              f"{sum(p.numel() for p in run.model.parameters()):,} parameters, {world} process(es) on {dev}",
              flush=True)
        if run.step >= cfg.train.steps:
            print(f"step {run.step:,} is already at or past train.steps {cfg.train.steps:,}: nothing to train, "
                  "the final model is written from the saved state", flush=True)
    valid = n_valid = None
    if rank == 0:
        B, M = cfg.train.eval_batch_size, cfg.model.block_size
        valid = make_walker(cfg.task, cfg.data, "valid", B, M, cfg.train.seed, cfg.train.eval_tokens)
        n_valid = eval_blocks(valid, cfg.train.eval_tokens, B, M)
    tokens_per_step = cfg.train.batch_size * cfg.model.block_size
    start, start_step = time.perf_counter(), run.step
    while run.step < cfg.train.steps:
        tick = time.perf_counter()
        stats = run.train_step()
        run.seconds += time.perf_counter() - tick
        if rank == 0 and (run.step % cfg.train.log_every == 0 or run.step == cfg.train.steps):
            elapsed = time.perf_counter() - start
            tps = (run.step - start_step) * tokens_per_step / max(elapsed, 1e-9)
            eta = (cfg.train.steps - run.step) * tokens_per_step / max(tps, 1e-9)
            print(progress_line(run.step, cfg.train.steps, stats, tps, eta), flush=True)
            with open(log, "a") as f:
                f.write(json.dumps({"step": run.step, "tokens": run.step * tokens_per_step,
                                    "seconds": round(run.seconds, 1),
                                    "lr": learning_rate(run.step - 1, cfg.train),
                                    "tok_per_s": round(tps), **stats}) + "\n")
        if rank == 0 and (run.step % cfg.train.eval_every == 0 or run.step == cfg.train.steps):
            valid.restore(0)
            result = evaluate(run.model, valid, n_valid)
            print(f"  valid: {result['bits']:.4f} bits/token  error {result['error']:.4f}  "
                  f"kept {result['kept']:.0f}", flush=True)
            with open(log, "a") as f:
                f.write(json.dumps({"step": run.step, "split": "valid", **result}) + "\n")
        if run.step % cfg.train.save_every == 0 or run.step == cfg.train.steps:
            run.save()
        if rank == 0 and cfg.train.keep_every and run.step % cfg.train.keep_every == 0:
            run.model.save_pretrained(out / f"step-{run.step}")  # weights only: a run's course, kept to compare
    if rank == 0:
        run.model.save_pretrained(out / "final")
        print(f"final model: {out / 'final'}", flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return out / "final"


@command
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument("--steps", type=int, help="override train.steps (a smoke run)")
    parser.add_argument("--out-dir", help="override train.out_dir")
    args = parser.parse_args(argv)
    try:
        cfg = load_run_config(args.config)
        if args.steps is not None:
            cfg.train.steps = args.steps
        if args.out_dir is not None:
            cfg.train.out_dir = args.out_dir
        problems = cfg.train.problems()  # the command line's values pass the checks the TOML's pass
        if problems:
            raise ConfigError("; ".join(p.replace("train.steps", "--steps").replace("train.out_dir", "--out-dir")
                                        for p in problems))
        train(cfg, fresh=args.fresh, device=args.device)
    except ExpireSpanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
