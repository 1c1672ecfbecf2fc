"""The package's layering, as the README's Layout table and each `__init__` state it.

These rules are what keep the tree readable; they fail the moment someone
adds an import cycle, a 600-line module, or a `/proc` read outside the seam.
Imports are read with `ast` (including imports inside functions), so a lazy
import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "harness"
MAX_LINES = 420  # "no module over ~400 lines"

#: What each sub-package may import from the harness (besides itself and the
#: top-level vocabulary). The arrows point down the layers.
ALLOWED = {
    "system": set(),
    "evidence": {"protocols"},  # the sans-IO codecs, to name a frame
    "protocols": set(),
    "server": {"system"},
    "clients": {"system", "server", "evidence", "protocols"},
    "protocolfile": {"clients", "server", "evidence", "protocols", "system"},
    "results": {"evidence", "system", "protocolfile"},
    "plugin": {"system", "server", "clients", "evidence", "protocols", "protocolfile", "results"},
    "cli": {"system", "server", "clients", "evidence", "protocols", "protocolfile", "results", "plugin"},
}
TOP_LEVEL_MAY_IMPORT = {"protocols", "protocolfile"}  # settings and the assignment file read protocol definitions


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every harness module `path` imports, at module level or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness") and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("harness"))
    return {name for name in found if name in known}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if len(parts) == 2 and not (PACKAGE / parts[1]).is_dir():
        return "top"
    return parts[1]


def test_no_import_cycle() -> None:
    known = modules()
    graph = {name: imports_of(path, known) - {name} for name, path in known.items()}
    # A package's __init__ importing its own submodules is how packages work; the
    # submodule importing the package back is the cycle we forbid.
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_layers_import_only_downwards() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        own = layer(name)
        if own in ("suites", "reference_servers") or name == "harness.__main__":
            continue
        for target in imports_of(path, known):
            other = layer(target)
            if other in (own, "top", "suites", "reference_servers"):
                continue
            allowed = TOP_LEVEL_MAY_IMPORT if own == "top" else ALLOWED.get(own, set())
            if other not in allowed:
                wrong.append(f"{name} imports {target} ({own} -> {other})")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("name", sorted(modules()))
def test_module_is_small(name: str) -> None:
    lines = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit {MAX_LINES}): split it by job"


def test_proc_is_read_only_in_the_system_package() -> None:
    readers = []
    for name, path in modules().items():
        if layer(name) == "system":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if '"/proc' in code or "'/proc" in code or 'f"/proc' in code:
                readers.append(f"{name}:{number}: {line.strip()}")
    assert readers == [], "\n".join(readers)


def test_low_layers_never_import_pytest() -> None:
    offenders = []
    for name, path in modules().items():
        if layer(name) in ("plugin", "cli", "suites"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "pytest" or n.startswith(("pytest.", "_pytest")) for n in names):
                offenders.append(name)
    assert offenders == [], f"pytest imported below the plugin: {sorted(set(offenders))}"


def test_readme_layout_names_every_package() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme.split("## Layout", 1)[1]
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    missing = [p for p in packages if f"`harness/{p}/`" not in layout]
    assert missing == [], f"README's Layout table leaves out {missing}"
    for package in packages:
        docstring = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
        assert docstring and "Rules" in docstring or package in ("protocols", "protocolfile"), \
            f"harness/{package}/__init__.py should state its rules"
