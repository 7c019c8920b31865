"""pyproject.toml is the project's one settings file (metadata, ruff, pytest), scripts/setup.sh installs the
project in editable mode offline, and so no Python file edits sys.path: `import model`, `import app` and
`import bench.models` work from any folder (bash scripts/setup.sh first)."""
import ast
import os
import subprocess
import sys
import tomllib

from support import ROOT

SKIP_DIRS = {".venv", ".git", "runs", "data", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
MUTATORS = {"insert", "append", "extend", "remove", "pop", "clear"}


def python_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".venv")]
        yield from (os.path.join(folder, f) for f in files if f.endswith(".py"))


def is_sys_path(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
            and node.value.id == "sys")


def sys_path_edits(source: str) -> list[int]:
    """Lines that change sys.path: sys.path.insert(...) and the like, sys.path = / += / [i] = ..."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in MUTATORS and is_sys_path(node.value):
            lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value)) for t in targets):
                lines.append(node.lineno)
    return sorted(lines)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_sys_path_check_finds_each_kind_of_edit():
    source = ("import sys\nsys.path.insert(0, 'x')\nsys.path.append('x')\nsys.path = ['x']\nsys.path += ['x']\n"
              "sys.path[0] = 'x'\nprint(sys.path)\nother.path.insert(0, 'x')\n")
    assert sys_path_edits(source) == [2, 3, 4, 5, 6]


def test_no_python_file_edits_sys_path():
    files = list(python_files())
    assert any(f.endswith(os.path.join("app", "main.py")) for f in files)
    edits = [f"{os.path.relpath(f, ROOT)}:{line}" for f in files
             for line in sys_path_edits(open(f, encoding="utf-8").read())]
    assert not edits, f"sys.path edited (the editable install makes it needless): {', '.join(edits)}"


def test_pyproject_holds_the_metadata_and_the_ruff_and_pytest_settings():
    conf = pyproject()
    project = conf["project"]
    assert project["name"] == "expire-span-explorer" and project["requires-python"] == ">=3.11"
    assert project["dependencies"] == []  # the pins live in requirements.txt only
    assert {"model", "app", "bench"} <= set(conf["tool"]["setuptools"]["packages"]["find"]["include"])
    ruff = conf["tool"]["ruff"]
    assert ruff["line-length"] == 120 and ruff["target-version"] == "py311"
    assert set(ruff["lint"]["select"]) == {"E9", "E501", "F"}
    assert ruff["lint"]["per-file-ignores"]["tests/*"] == ["F811"]
    pytest_conf = conf["tool"]["pytest"]["ini_options"]
    assert pytest_conf["testpaths"] == ["tests"] and "no:cacheprovider" in pytest_conf["addopts"]
    assert {m.split(":")[0] for m in pytest_conf["markers"]} >= {"e2e", "slow"}
    # a file of its own would take precedence over pyproject.toml (ruff, pytest), so none is left
    leftovers = [n for n in ("ruff.toml", ".ruff.toml", "pytest.ini", "tox.ini", "setup.cfg") if (ROOT / n).exists()]
    assert not leftovers, leftovers


def test_setup_installs_the_project_editable_offline_and_docker_does_the_same():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "--no-build-isolation --no-deps -e ." in setup and "pyproject.toml" in setup  # in the stamp's hash
    assert any(line.startswith("setuptools==") for line in (ROOT / "requirements.txt").read_text().splitlines())
    docker = (ROOT / "Dockerfile").read_text()
    assert "COPY pyproject.toml" in docker and "--no-build-isolation --no-deps -e ." in docker
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert not any(line.strip() in ("pyproject.toml", "*.toml", "/pyproject.toml") for line in ignored)


def test_the_packages_import_from_any_folder(tmp_path):
    code = ("import importlib.util as u; "
            "print('\\n'.join(u.find_spec(n).origin or '' for n in ('model', 'app', 'app.views', 'bench.models')))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"not installed (bash scripts/setup.sh): {done.stderr.strip()[-500:]}"
    origins = done.stdout.split()
    assert origins == [str(ROOT / "model" / "__init__.py"), str(ROOT / "app" / "__init__.py"),
                       str(ROOT / "app" / "views" / "__init__.py"), str(ROOT / "bench" / "models.py")], origins


def test_no_production_function_is_named_like_a_test():
    """pytest collects test_* names: a production function so named would be collected, or renamed on import."""
    bad = [f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
           for folder in ("model", "app", "bench") for path in sorted((ROOT / folder).rglob("*.py"))
           for node in ast.walk(ast.parse(path.read_text()))
           if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")]
    assert not bad, bad
