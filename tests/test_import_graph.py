"""The import graph the README's Architecture section draws: read with `ast` from the source, so that an import
inside a function (a lazy import) counts like one at the top of a module."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from glasspane.settings import PROJECT_DIR

PACKAGES = ("app", "pages", "collectors", "contrib", "glasspane")
# The store keeps derived tables current within each write: it calls governance's pure derivations (lineage,
# the lineage tables, names that look personal). They import nothing of the store or the queries, so the
# store depends on them without a cycle; everything else in governance sits above the store.
STORE_MAY_USE = {"glasspane.governance.lineage", "glasspane.governance.lineage_refresh", "glasspane.governance.pii"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    found = {"app": PROJECT_DIR / "app.py"}
    for package in PACKAGES[1:]:
        found |= {_module(p): p for p in (PROJECT_DIR / package).rglob("*.py")}
    return found


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules `module` imports anywhere in its source (a name imported from a package counts as
    the submodule when there is one)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            named |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in named if name in known and name != module}


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    return {module: _imports(module, path, set(sources)) for module, path in sources.items()}


GRAPH = _graph()


def _unit(module: str) -> str:
    """A module's part of the tree: a top-level package, or one of glasspane's subpackages or modules."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "glasspane" and len(parts) > 1 else parts[0]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _edges(source: str, target: str) -> list[str]:
    """`a -> b` for every module under `source` that imports one under `target`."""
    inside = lambda module, prefix: module == prefix or module.startswith(prefix + ".")  # noqa: E731
    return sorted(
        f"{module} -> {imported}"
        for module, imported_modules in GRAPH.items()
        if inside(module, source)
        for imported in imported_modules
        if inside(imported, target)
    )


def test_the_graph_is_read_from_the_whole_tree_with_lazy_imports():
    assert {"app", "pages.governance", "collectors.runner", "glasspane.cli.main", "glasspane.store.ingest"} <= set(
        GRAPH
    )
    assert "glasspane.alerts.service" in GRAPH["glasspane.cli.alerts"]  # imported inside `run_alerts`


def test_no_module_imports_itself_back_across_packages():
    cross = [c for c in _cycles(GRAPH) if len({_unit(m) for m in c}) > 1]
    assert cross == []


def test_the_top_level_packages_form_no_cycle():
    # glasspane's entry points (the command line, the UI, the demo) are nodes of their own: they sit above
    # collectors, which sit above the rest of glasspane.
    entry_points = ("glasspane.cli", "glasspane.ui", "glasspane.demo", "glasspane.__main__")

    def node(module: str) -> str:
        unit = _unit(module)
        return unit if unit in entry_points else unit.split(".")[0]

    edges: dict[str, set[str]] = defaultdict(set)
    for module, imported in GRAPH.items():
        if module.endswith("__main__"):  # a script nothing imports: `python -m collectors` runs glasspane.cli
            continue
        edges[node(module)] |= {node(i) for i in imported} - {node(module)}
    assert _cycles(edges) == []
    assert "collectors" in edges["glasspane.cli"] and "glasspane" in edges["collectors"]


def test_the_store_only_stores():
    for layer in ("glasspane.queries", "glasspane.alerts", "glasspane.ui", "glasspane.cli", "pages", "app"):
        assert _edges("glasspane.store", layer) == []
    governance = [
        e for e in _edges("glasspane.store", "glasspane.governance") if e.split(" -> ")[1] not in STORE_MAY_USE
    ]
    assert governance == []
    for derivation in STORE_MAY_USE:
        assert not [m for m in GRAPH[derivation] if m.startswith(("glasspane.store", "glasspane.queries"))]


def test_collectors_depend_on_records_config_and_dlt_metadata_only():
    for layer in ("glasspane.ui", "glasspane.governance", "glasspane.queries", "glasspane.alerts", "glasspane.cli"):
        assert [e for e in _edges("collectors", layer) if not e.startswith("collectors.__main__ ")] == []


def test_governance_and_the_ui_get_what_they_need_from_collectors_passed_in():
    assert _edges("glasspane.governance", "collectors") == []
    assert _edges("glasspane.ui", "collectors") == []
