"""The layout rules of docs/architecture.rst, checked on the source (issue #27's targets)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skvae"

#: The floors of docs/architecture.rst: a module imports from its own floor or lower.
FLOORS = {
    "skvae.nn": 0,
    "skvae._categorical": 1,
    "skvae._net": 1,
    "skvae._network": 1,
    "skvae._removed": 1,
    "skvae._utils": 1,
    "skvae.augment": 1,
    "skvae.benchmarking": 1,
    "skvae.callbacks": 1,
    "skvae.datasets": 1,
    "skvae.generation": 1,
    "skvae.latent": 1,
    "skvae.metrics": 1,
    "skvae.model_selection": 1,
    "skvae.synthetic": 1,
    "skvae.classifier": 2,
    "skvae.encoder": 2,
    "skvae.oversampler": 2,
    "skvae.semi_supervised": 2,
    "skvae.experiment": 3,
    "skvae.cli": 4,
    "skvae.__main__": 4,
}
#: The package's front door re-exports the estimators; it is no floor.
FACADE = "skvae"
MAX_CLASS_LINES, MAX_FUNCTION_LINES = 400, 80


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _floor(module: str) -> int | None:
    """The floor of ``module`` (the longest prefix in FLOORS), None outside skvae."""
    while module:
        if module in FLOORS:
            return FLOORS[module]
        module = module.rpartition(".")[0]
    return None


def _facade_home(name: str) -> str:
    """The module that ``skvae.<name>`` comes from (``skvae/__init__.py``'s imports)."""
    init = PACKAGE / "__init__.py"
    for module, names in _imported_modules(FACADE, init, ast.parse(init.read_text())):
        if name in names:
            return module
    return f"{FACADE}.{name}"


def _sources() -> list[tuple[str, Path, ast.Module]]:
    return [
        (_module_name(path), path, ast.parse(path.read_text()))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _imported_modules(name: str, path: Path, tree: ast.Module):
    """``(module, names)`` of every skvae import in ``tree``, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, [alias.name for alias in node.names]


def test_every_module_has_a_floor():
    unplaced = [name for name, _, _ in _sources() if name != FACADE and _floor(name) is None]
    assert not unplaced, f"add these to FLOORS and docs/architecture.rst: {unplaced}"


def test_no_import_runs_up_a_floor():
    upward = []
    for name, path, tree in _sources():
        if name == FACADE:
            continue
        own = _floor(name)
        for module, names in _imported_modules(name, path, tree):
            targets = [module] if module != FACADE else [_facade_home(n) for n in names]
            for target in targets:
                floor = _floor(target)
                if floor is not None and floor > own:
                    upward.append(f"{name} (floor {own}) imports {target} (floor {floor})")
    assert not upward, upward


def test_no_module_imports_another_modules_private_name():
    borrowed = []
    for name, path, tree in _sources():
        for module, names in _imported_modules(name, path, tree):
            if module.startswith(FACADE) and module != name:
                borrowed += [
                    f"{name} imports {module}.{n}"
                    for n in names
                    if n.startswith("_") and not n.startswith("__")
                ]
    assert not borrowed, borrowed


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (ast.ClassDef, MAX_CLASS_LINES),
        ((ast.FunctionDef, ast.AsyncFunctionDef), MAX_FUNCTION_LINES),
    ],
)
def test_no_class_or_function_is_too_long(kind, limit):
    too_long = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for name, _, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, kind) and node.end_lineno - node.lineno + 1 > limit
    ]
    assert not too_long, too_long


def test_the_rule_checker_sees_an_upward_import(tmp_path):
    # The checks above pass vacuously if _imported_modules resolves nothing.
    path = PACKAGE / "nn" / "vae.py"
    tree = ast.parse("from ..oversampler import VAEOversampler\nfrom . import cnn\n")
    found = list(_imported_modules("skvae.nn.vae", path, tree))
    assert found == [("skvae.oversampler", ["VAEOversampler"]), ("skvae.nn", ["cnn"])]
    assert _floor("skvae.oversampler") > _floor("skvae.nn.vae")
    assert _facade_home("VAEOversampler") == "skvae.oversampler"
