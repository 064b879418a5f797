"""The package layout keeps its promises: the layers (a lower layer never imports a higher one), no
import cycles, rich only in the CLI, built-ins and examples use only the public API, modules stay
small, and old import paths still work."""

import ast
import importlib
import re
import shutil
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the repository
PACKAGE = ROOT / "ganzoo"
MAX_LINES = 300
# What plugins (built-in or third-party) may import besides `ganzoo` itself.
ALLOWED_THIRD_PARTY = {"torch", "torchvision", "pydantic", "numpy", "PIL", "mlxtend", "safetensors"}


# The engine's layers, lowest first. A module belongs to the deepest package listed that holds it, so
# the modules at the top of ganzoo/ (what plugins see, errors, ranks, faults) are the ground floor.
# Every import goes to a module of its own layer or a lower one (README, "Where things live").
LAYERS = (
    "ganzoo",  # ground floor: hookspecs, components, penalties, layers, imagedata, errors, ranks, faults
    "ganzoo.storage",  # what sits on disk
    "ganzoo.data",  # reading image sets (its cache is written through storage)
    "ganzoo.registry",  # names to parts: plugins, catalogue, configuration, building
    "ganzoo.training",  # the loop and its parts
    "ganzoo.evaluation",  # quality
    "ganzoo.diagnosis",  # ganzoo doctor
    "ganzoo.runs",  # starting, resuming, recording, sweeping runs
    "ganzoo.report",  # what the commands make of runs
    "ganzoo.tuning",
    "ganzoo.bench",
    "ganzoo.testing",  # the plugin author's kit
    "ganzoo.cli",  # the command line, on top
)


def _modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for f in (root / "ganzoo").rglob("*.py"):
        parts = f.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every absolute import in a file, at any depth (imports inside functions count)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the ganzoo modules it imports (a package's own __init__ importing its submodules excluded)."""
    mods = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        for module, names in _imports(f):
            for target in [module, *(f"{module}.{n}" for n in names)]:
                if target in mods and target != m and not (f.name == "__init__.py" and target.startswith(m + ".")):
                    graph[m].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> int:
    """The index in LAYERS of the deepest listed package that holds ``module``."""
    return max(LAYERS.index(p) for p in LAYERS if module == p or module.startswith(p + "."))


def upward_imports(root: Path = ROOT) -> list[str]:
    """Every import, in the tree under ``root``, of a module of a higher layer than the importer's."""
    graph = import_graph(root)
    return sorted(
        f"{m} imports {t} ({LAYERS[layer(m)]} is below {LAYERS[layer(t)]})" for m in graph for t in graph[m] if layer(t) > layer(m)
    )


def test_every_package_of_the_engine_has_a_layer():
    packages = {".".join(f.relative_to(ROOT).parts[:-1]) for f in PACKAGE.rglob("__init__.py")}
    assert packages and packages <= set(LAYERS), f"add these to LAYERS: {sorted(packages - set(LAYERS))}"


def test_no_layer_imports_a_higher_one():
    assert upward_imports() == []


@pytest.mark.parametrize(
    "importer,line,upward",
    [
        ("errors.py", "from ganzoo.cli import console", ["ganzoo.cli", "ganzoo.cli.console"]),
        ("penalties.py", "from ganzoo.training import distributed", ["ganzoo.training", "ganzoo.training.distributed"]),
        ("storage/checkpoint.py", "def f():\n    from ganzoo.runs import launch", ["ganzoo.runs", "ganzoo.runs.launch"]),
    ],
)
def test_the_layer_check_finds_an_upward_import_planted_in_a_copy(tmp_path, importer, line, upward):
    """The check is shown to fail: a copy of the package with one upward import (at module level, or
    inside a function) is reported with exactly that import (the package and the module it names)."""
    shutil.copytree(PACKAGE, tmp_path / "ganzoo")
    with open(tmp_path / "ganzoo" / importer, "a") as f:
        f.write(f"\n{line}\n")
    module = "ganzoo." + importer.removesuffix(".py").replace("/", ".")
    found = upward_imports(tmp_path)
    assert [f.split(" (")[0] for f in found] == [f"{module} imports {t}" for t in upward], found
    assert all(f"({LAYERS[layer(module)]} is below {LAYERS[layer(upward[0])]})" in f for f in found)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_there_are_no_import_cycles_inside_ganzoo():
    graph = import_graph()
    assert len(graph) > 30  # the walk saw the package
    assert cycles(graph) == []


def test_rich_is_imported_only_by_the_cli():
    users = sorted(m for m, f in _modules().items() if any(module.split(".")[0] == "rich" for module, _ in _imports(f)))
    assert users and all(m == "ganzoo.cli" or m.startswith("ganzoo.cli.") for m in users), users


@pytest.mark.parametrize("tree", ["plugins", "examples"])
def test_plugins_and_examples_import_only_the_public_api(tree):
    """Built-ins use nothing a third-party plugin could not: ``ganzoo`` itself (its ``__all__``),
    the plugin author's ``ganzoo.testing`` kit in tests, their own package, and common libraries."""
    files = [f for f in (ROOT / tree).rglob("*.py")]
    assert files
    own = {"ganzoo_plugins", "ganzoo_example_plugin", "conftest"}
    problems = []
    for f in files:
        for module, names in _imports(f):
            top = module.split(".")[0]
            if module == "ganzoo":
                problems += [f"{f.relative_to(ROOT)}: ganzoo.{n} is not public" for n in names if n not in __import__("ganzoo").__all__]
            elif top == "ganzoo" and not (module.startswith("ganzoo.testing") and "tests" in f.parts):
                problems.append(f"{f.relative_to(ROOT)} imports {module}")
            elif top not in own | ALLOWED_THIRD_PARTY | {"ganzoo"} | set(sys.stdlib_module_names) | {"pytest"}:
                problems.append(f"{f.relative_to(ROOT)} imports {module}")
    assert not problems, problems


def test_no_module_is_long_without_saying_why():
    long = {}
    for m, f in _modules().items():
        lines = f.read_text().splitlines()
        if len(lines) > MAX_LINES and "longer than 300 lines" not in "\n".join(lines[:20]).lower():
            long[m] = len(lines)
    assert not long, long


def readme_map(readme: str) -> dict[str, str]:
    """The map of "Where things live": package (``""`` for the top of ganzoo/) -> the names its lines
    give. In the map's code block a package is a line ``  NAME/`` under ``ganzoo/``; the lines below
    it, more indented, name its modules before the description (the first gap of two spaces)."""
    block = readme[readme.index("## Where things live") :].split("```")[1]
    lines = block.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("ganzoo/"))
    out: dict[str, str] = {"": ""}
    package = ""
    for line in lines[top + 1 :]:
        if line and not line.startswith(" "):  # the next top-level entry: ganzoo/ has ended
            break
        names = re.split(r"\s{2,}", line.strip())[0]
        if line.startswith("  ") and not line.startswith("   ") and names.endswith("/"):
            package = names.rstrip("/")
            out[package] = line.strip()[len(names) :] + " "  # its own line may name one, as cli/ names __main__.py
        elif line.strip():
            out[package if line.startswith("    ") else ""] += names + " "
    return out


def missing_from_map(root: Path, readme: str) -> list[str]:
    """Modules of ganzoo/ that the map does not name under their own package."""
    where = readme_map(readme)
    missing = []
    for f in sorted((root / "ganzoo").rglob("*.py")):
        parts = f.relative_to(root / "ganzoo").parts
        if f.name == "__init__.py":
            continue
        package = parts[0] if len(parts) > 1 else ""
        names = re.sub(r"[,()]", " ", where.get(package, "")).split()
        if f.name not in names and f.stem not in names:
            missing.append(str(f.relative_to(root)))
    return missing


def test_the_readme_map_names_every_module_under_its_own_package(tmp_path):
    readme = (ROOT / "README.md").read_text()
    assert missing_from_map(ROOT, readme) == []
    # A module named like one of another package (bench/config.py beside registry/config.py) is
    # found missing too: the map is read package by package, not as one bag of names.
    shutil.copytree(PACKAGE, tmp_path / "ganzoo")
    (tmp_path / "ganzoo" / "bench" / "config.py").write_text("")
    assert missing_from_map(tmp_path, readme) == ["ganzoo/bench/config.py"]


@pytest.mark.parametrize(
    "old,new",
    [
        ("ganzoo.plugins", "ganzoo.registry.host"),
        ("ganzoo.train", "ganzoo.training.loop"),
        ("ganzoo.checkpoint", "ganzoo.storage.checkpoint"),
    ],
)
def test_an_old_import_path_still_works_and_says_where_it_went(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


# Where a quality figure's name may be written outside ganzoo/evaluation/: the doctor's one lookup of
# the rows it reads, and train.precision (a training option that shares the metric "precision"'s name).
NAMED_ELSEWHERE = {"ganzoo/diagnosis/evidence.py": {"class_acc", "diversity", "fd_ratio"}, "ganzoo/bench/versus.py": {"precision"}}


def test_metric_names_are_spelled_only_in_the_quality_table(tmp_path):
    """Every other module takes a metric's key, aliases and label from QUALITY (ganzoo/evaluation/metrics.py)."""
    from ganzoo.evaluation.metrics import QUALITY

    names = {q.key for q in QUALITY} | {a for q in QUALITY for a in q.aliases}

    def spelled(root: Path) -> list[str]:
        found = []
        for f in sorted((root / "ganzoo").rglob("*.py")):
            where = str(f.relative_to(root))
            if where.startswith("ganzoo/evaluation/"):
                continue
            for node in ast.walk(ast.parse(f.read_text())):
                if isinstance(node, ast.Constant) and node.value in names and node.value not in NAMED_ELSEWHERE.get(where, ()):
                    found.append(f"{where}:{node.lineno} {node.value!r}")
        return found

    assert spelled(ROOT) == []
    shutil.copytree(PACKAGE, tmp_path / "ganzoo")  # the check fails on a module that spells one again
    with open(tmp_path / "ganzoo" / "runs" / "recorder.py", "a") as f:
        f.write('\nCOLLAPSED = "diversity"\n')
    assert [s.split(":")[0] for s in spelled(tmp_path)] == ["ganzoo/runs/recorder.py"]
