"""DESIGN.md §2: no module of plughub imports another in a circle, `TYPE_CHECKING` imports included.

The graph is read from the source, not from what a run happens to load: every `import` and
`from ... import` anywhere in a module counts (module level, under `TYPE_CHECKING`, inside a
function). An edge goes to the module named; `from package import name` goes to the submodule when
`name` is one, else to the package itself, whose `__init__` then leads on to what it re-exports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import plughub

ROOT = Path(plughub.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("plughub", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py")) if "migrations" not in p.parts}


def _target(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of a `from ... import`, relative ones resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module of plughub and the modules of plughub it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                target = _target(module, path, node)
                if target not in modules:
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    edges.add(submodule if submodule in modules else target)
        edges.discard(module)
        graph[module] = edges
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative: a deep package would exceed the recursion limit.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_detector_finds_a_circle_through_a_package_init() -> None:
    # a -> pkg (a re-exported name) -> pkg.b -> a
    graph = {"a": {"pkg"}, "pkg": {"pkg.b"}, "pkg.b": {"a"}, "c": {"a"}}
    assert circles(graph) == [["a", "pkg", "pkg.b"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_in_a_circle() -> None:
    found = circles(import_graph(_modules()))
    assert found == [], "import circles (TYPE_CHECKING and function-level imports count):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )
