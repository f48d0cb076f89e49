"""The house's layout, checked: arrows between apps run one way, no module imports itself
back in a cycle, and no product module grows past ~600 lines (README, "Architecture").

Every import counts, also one inside a function: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. An app may import from the apps on lower levels only; apps on one level
# never import each other. `geocity` below everything is the project's small library
# (errors, db, clock, hooks, http, ...); `geocity` modules that wire the project together
# (settings, urls, wsgi, celery, ...) sit above every app.
LEVELS: list[tuple[str, ...]] = [
    ("geocity",),
    ("layers",),
    ("reports", "basemap"),
    ("open311", "workspace", "dashboard"),
    ("tiles",),
    ("fixtures",),
    ("geocity.project",),
]
PROJECT_MODULES = ("geocity.settings", "geocity.urls", "geocity.wsgi", "geocity.asgi",
                   "geocity.celery", "geocity.context_processors", "geocity.legacy_issues",
                   "geocity.bootstrap", "geocity.health")
PACKAGES = ("geocity", "layers", "basemap", "reports", "open311", "workspace", "dashboard", "tiles",
            "fixtures")
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> set[str]:
    """Modules of this project that `module` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b`: the module a.b when there is one, else a (b is a name in it)
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        for name in names:
            # the longest prefix that is one of our modules
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in MODULES:
                    if candidate != module:
                        out.add(candidate)
                    break
    return out


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _app(module: str) -> str:
    if module == "geocity" or module.startswith(PROJECT_MODULES):
        return "geocity.project"
    return module.split(".")[0]


def _level(app: str) -> int:
    return next(i for i, apps in enumerate(LEVELS) if app in apps)


def test_every_app_is_placed_on_a_level():
    assert {_app(m) for m in MODULES} <= {app for apps in LEVELS for app in apps}


def test_apps_import_only_from_lower_levels():
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items() for target in targets
        if _app(target) != _app(module) and _level(_app(target)) >= _level(_app(module))
    )
    assert wrong == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_modules():
    assert _cycles() == []


def test_tasks_never_import_services():
    # services schedule tasks; work that calls services is in each app's jobs.py
    wrong = sorted(f"{m} imports {t}" for m, targets in GRAPH.items() for t in targets
                   if ".tasks" in m and ".services" in t)
    assert wrong == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_product_module_is_over_600_lines(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)}: {lines} lines"


def test_the_checker_sees_a_wrong_arrow(tmp_path):
    # given a module of the lowest app that imports one of a higher app
    path = tmp_path / "bad.py"
    path.write_text("from reports.models import Report\n\ndef f():\n    import tiles.cache\n")
    # then both imports, the lazy one too, are found
    assert _imports("layers.bad", path) == {"reports.models", "tiles.cache"}
