"""No private name (``_x``) crosses a module boundary: a module's underscore names are its own.

Another module that needs one shows a missing public seam; this scan of the source tree keeps
that true. It reads every project file with ``ast`` and reports:

- ``from project.module import _x`` (and relative imports of the same);
- ``module._x`` where ``module`` is a name bound to a project module by an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "handlers", "workflows", "config", "ocr", "tests", "bench")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_project_module(dotted: str) -> bool:
    """A module (not a name inside one) of this project."""
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = here.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _violations(source: str, here: str, *, where: str, is_package: bool = False) -> list[str]:
    """What ``source`` (the text of module ``here``) uses of other modules' private names."""
    tree = ast.parse(source, filename=where)
    modules: dict[str, str] = {}  # local name -> project module it is bound to
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    local = alias.asname or alias.name.split(".")[0]
                    modules[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            origin = _absolute(node, here, is_package)
            if origin.split(".")[0] not in PACKAGES or origin == here:
                continue
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{where}:{node.lineno} imports {alias.name} from {origin}")
                elif _is_project_module(f"{origin}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{origin}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = _dotted(node.value)
            if owner is None:
                continue
            root, _, rest = owner.partition(".")
            if root in modules:
                target = ".".join(filter(None, [modules[root], rest]))
                if _is_project_module(target) and target != here:
                    found.append(f"{where}:{node.lineno} uses {target}.{node.attr}")
    return found


def project_files() -> list[Path]:
    return sorted(
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts and "node_modules" not in p.parts
    )


def test_no_private_name_crosses_a_module_boundary() -> None:
    found = [
        v
        for path in project_files()
        for v in _violations(
            path.read_text(encoding="utf-8"),
            _module_name(path),
            where=str(path.relative_to(ROOT)),
            is_package=path.name == "__init__.py",
        )
    ]
    assert not found, "private names used outside their module:\n" + "\n".join(found)


def test_the_scan_sees_both_forms() -> None:
    """The scan itself: an import and an attribute use of another module's _name both count;
    a module's own names, dunders and attributes of classes do not."""
    source = (
        "from backend.cases.models import _hidden, __doc__\n"
        "from backend.cases import models\n"
        "import backend.cases.models as m\n"
        "import backend.cases.models\n"
        "models._secret\n"
        "m._other\n"
        "backend.cases.models._third\n"
        "models.Case._fine_on_a_class\n"
        "from . import _mine\n"
    )
    found = _violations(source, "tests.unit.probe", where="probe.py")
    assert [v.split(" ", 1)[1] for v in found] == [
        "imports _hidden from backend.cases.models",
        "imports _mine from tests.unit",
        "uses backend.cases.models._secret",
        "uses backend.cases.models._other",
        "uses backend.cases.models._third",
    ]
