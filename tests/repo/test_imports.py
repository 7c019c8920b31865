"""model/ imports cleanly: each module imports alone in a fresh interpreter, every import sits at the top of its
file, and no module imports another that imports it back."""
import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import ROOT

MODEL = ROOT / "model"


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {module_name(p): p for p in sorted(MODEL.rglob("*.py"))}


def imported_modules(name: str) -> set[str]:
    """The modules of model/ that `name` imports (relative or absolute), from its source."""
    path = FILES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.update(t for t in [target, *(f"{target}.{a.name}" for a in node.names)] if t in FILES)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in FILES)
    return found - {name}


def import_alone(name: str) -> tuple[str, subprocess.CompletedProcess]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return name, subprocess.run([sys.executable, "-c", f"import {name}"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)


def test_the_module_list_covers_every_kind_of_module():
    assert {"model", "model.trace", "model.trace.__main__", "model.tasks.collision", "model.vocab",
            "model.metrics", "model.hub", "model.convert_official"} <= set(FILES)


def test_every_module_of_model_imports_alone_in_a_fresh_interpreter():
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        failed = {name: (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                  for name, done in pool.map(import_alone, FILES) if done.returncode != 0}
    assert not failed, failed


def test_every_import_in_model_is_at_the_top_of_its_file():
    indented = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in FILES.values()
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0]
    assert not indented, f"imports inside a function or block: {', '.join(indented)}"


def test_no_module_of_model_imports_one_that_imports_it_back():
    graph = {name: imported_modules(name) for name in FILES}
    cycles = []

    def walk(name, path):
        for dep in sorted(graph[name]):
            if dep in path:
                cycles.append(" -> ".join(path[path.index(dep):] + [dep]))
            elif dep not in finished:
                walk(dep, path + [dep])
        finished.add(name)

    finished = set()
    for name in FILES:
        if name not in finished:
            walk(name, [name])
    assert not cycles, cycles


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_layers_import_only_downward():
    """model/, then app/ (its views below its shell, tests/app/test_app_settings.py), then bench/ and tests/:
    the model never imports the app or the benchmarks, and the app never imports the benchmarks or the tests."""
    root = MODEL.parent
    for folder, never in (("model", {"app", "bench", "tests", "streamlit"}), ("app", {"bench", "tests"})):
        for path in sorted((root / folder).rglob("*.py")):
            assert not _top_level_imports(path) & never, f"{path.relative_to(root)} imports {never}"
