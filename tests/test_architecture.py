"""The package's import graph (every ``import`` of a foedus module, at the
top of a file or inside a function): no cycle, and layers that point one
way, interfaces → study → exploration → models → data/storage → domain, as
docs/contributing.md says. Read from the source with ``ast``; nothing is
imported."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: Rank of each layer: a module may import from its own layer or a lower one.
RANK = {"domain": 0, "interrupts": 0, "data": 1, "storage": 1, "models": 2, "exploration": 3, "study": 4, "interfaces": 5}


def _modules() -> dict[str, Path]:
    out = {}
    for p in (SRC / "foedus").rglob("*.py"):
        name = ".".join(p.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()

    def resolve(name: str) -> str:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for m, p in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {resolve(a.name) for a in node.names if a.name.startswith("foedus")}
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("foedus") and node.level == 0:
                deps |= {resolve(f"{node.module}.{a.name}") for a in node.names}
        graph[m] = deps - {m, "foedus", ""}
    return graph


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "root"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert len(graph) > 40  # the walk found the package
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_layers_point_one_way():
    graph = _graph()
    assert set(RANK) >= {_layer(m) for m in graph if m != "foedus"} - {"root"}, "a new layer: give it a rank"
    upward = sorted((m, d) for m, deps in graph.items() for d in deps
                    if _layer(m) in RANK and _layer(d) in RANK and RANK[_layer(d)] > RANK[_layer(m)])
    assert upward == []
