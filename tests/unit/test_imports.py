"""The import graph of agenthost and its lab, read from the source: no module imports itself
through others, the product never imports the lab (nor the docker SDK, which only the lab extra
installs), the read machinery does not import the stages that declare their reads to it, and
every module starts with a docstring that says its job.

The graph is the one Python runs: imports inside functions count, imports under
`if TYPE_CHECKING:` do not (they are never executed).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agenthost", "agenthost_lab")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _sources() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _type_checking_only(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(test)


def _imported(tree: ast.Module) -> set[str]:
    """Every module name this module imports when it runs (a name imported `from` a package may
    be a module of it: both are listed, the graph keeps those that are modules)."""
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if _type_checking_only(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of agenthost and agenthost_lab it imports."""
    sources = _sources()
    return {
        module: {name for name in _imported(tree) if name in sources and name != module}
        for module, tree in sources.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others():
    assert cycles(import_graph()) == []


def test_the_product_never_imports_the_lab_nor_its_docker_sdk():
    product = {m: tree for m, tree in _sources().items() if m.split(".")[0] == "agenthost"}
    for module, tree in product.items():
        wrong = {n for n in _imported(tree) if n.split(".")[0] in ("agenthost_lab", "docker")}
        assert not wrong, f"{module} imports {sorted(wrong)}"


def test_the_read_machinery_does_not_import_the_stages():
    graph = import_graph()
    for module in (m for m in graph if m.startswith("agenthost.reads")):
        stages = {m for m in graph[module] if m.startswith("agenthost.tasks")}
        assert not stages, f"{module} imports {sorted(stages)}"


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", sorted(_sources()))
def test_every_module_starts_with_a_docstring(module):
    assert ast.get_docstring(_sources()[module]), f"{module} has no docstring"
