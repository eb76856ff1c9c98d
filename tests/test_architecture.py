"""The package's structure: data flows one way (no import circle), no import inside a function
to dodge one, and every module imports on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "forecast"
# imports a function may make: an optional extra
LAZY_OK = {("benchmark", "peers")}


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return ".".join(rel.parts)


def _target(module: str, node: ast.ImportFrom) -> list[str]:
    """Package modules an `from . import x` / `from .x import y` statement reads."""
    if node.level == 0:
        if node.module and node.module.startswith("forecast."):
            return [node.module.removeprefix("forecast.")]
        return []
    base = module.split(".")[: -node.level] if node.level else []
    if node.module:
        return [".".join([*base, node.module])]
    return [".".join([*base, a.name]) for a in node.names]


def graph() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    modules = {_module(p): p for p in SRC.rglob("*.py") if p.name != "__init__.py"}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    lazy = []
    for m, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set(map(id, tree.body))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            for t in _target(m, node):
                t = t if t in modules else t.rsplit(".", 1)[0]
                if t not in modules or t == m:
                    continue
                if id(node) in top:
                    edges[m].add(t)
                elif m != "cli":  # the CLI imports commands lazily for a fast start
                    lazy.append((m, t))
    return edges, lazy


def test_no_import_circle():
    edges, _ = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycle = path[path.index(t) :] + [t]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_no_import_inside_a_function():
    _, lazy = graph()
    assert [e for e in lazy if e not in LAZY_OK] == []


def test_data_flows_down_from_the_pipeline():
    edges, _ = graph()
    lower = ["engine", "explain", "facts", "policy", "compose", "features", "backtest", "holdout"]
    for m in lower:
        assert not edges[m] & {"pipeline", "cli", "tracking", "registry", "serving", "store"}, m
    assert edges["registry"] >= {"store"} and edges["tracking"] >= {"store"}
    assert "compose" in edges["pipeline"] and "compose" in edges["serving"]
    assert "compose" in edges["reality"]


def test_every_module_imports_first():
    """A circle hidden by import order shows when a module is imported first: in a fresh
    interpreter, each module is imported after forgetting every module of the package (the
    third-party libraries stay loaded, so this is quick)."""
    names = sorted(f"forecast.{m}" for m in graph()[0])
    code = (
        "import importlib, sys\n"
        "for n in sys.argv[1:]:\n"
        "    for m in [m for m in sys.modules if m == 'forecast' or m.startswith('forecast.')]:\n"
        "        del sys.modules[m]\n"
        "    try:\n"
        "        importlib.import_module(n)\n"
        "    except Exception as exc:\n"
        "        sys.exit(f'{n}: {exc!r}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
