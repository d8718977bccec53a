"""No import cycle between the subpackages of moetheory (issue 15).

The graph is read from the source with ``ast``, imports inside function bodies included (a
cycle hidden in a function body is still a cycle), except those inside ``_repr_*`` hooks (the
way SymPy's objects reach its printers) and under ``if TYPE_CHECKING:``. Nodes are the
subpackages and top-level modules (``moetheory.identify``, ``moetheory.cli``, …).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import moetheory

ROOT = Path(moetheory.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    return ".".join(module.split(".")[:2])


class _Imports(ast.NodeVisitor):
    """(imported module, line) of one file, skipping _repr_* hooks and TYPE_CHECKING blocks."""

    def __init__(self, module: str, is_package: bool):
        self.module, self.is_package = module, is_package
        self.found: list[tuple[str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if not node.name.startswith("_repr_"):
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 (ast.NodeVisitor naming)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(a.name, node.lineno) for a in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.module.split(".")
            if not self.is_package:
                package = package[:-1]
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        self.found.append((target, node.lineno))


def import_graph() -> dict[str, dict[str, list[str]]]:
    """{unit: {imported unit: ["module:line", …]}} between different units of moetheory."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        for target, line in visitor.found:
            if target.split(".")[0] == "moetheory" and _unit(target) != _unit(module):
                graph[_unit(module)][_unit(target)].append(f"{module}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_subpackages():
    graph = import_graph()
    found = cycles(graph)
    where = [
        f"{a} -> {b}: {', '.join(graph[a][b])}"
        for comp in found
        for a in comp
        for b in graph[a]
        if b in comp
    ]
    assert not found, "import cycles:\n" + "\n".join(where)


def test_the_cycle_finder_finds_a_planted_cycle():
    """The oracle is checked too: a planted two-node cycle and a three-node one are found, a
    chain is not."""
    planted = {
        "a": {"b": ["a:1"]},
        "b": {"a": ["b:1"], "c": ["b:2"]},
        "c": {"d": ["c:1"]},
        "d": {"e": ["d:1"]},
        "e": {"c": ["e:1"]},
    }
    assert sorted(cycles(planted)) == [["a", "b"], ["c", "d", "e"]]
    assert cycles({"a": {"b": ["a:1"]}, "b": {"c": ["b:1"]}}) == []


def test_hooks_and_type_checking_imports_are_not_edges():
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import moetheory.x\n"
        "class V:\n    def _repr_markdown_(self):\n        import moetheory.present\n"
        "def f():\n    import moetheory.rates\n"
    )
    visitor = _Imports("moetheory.identify.v", False)
    visitor.visit(ast.parse(source))
    assert [t for t, _ in visitor.found] == ["typing", "moetheory.rates"]
