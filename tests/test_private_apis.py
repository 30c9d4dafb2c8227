"""DESIGN.md §8: plughub uses only its dependencies' public API.

Read from the source of every module of plughub:
- no import of a dependency's private module or name (`from httpx._client import`, `import x._y`,
  `from x import _y`);
- no private attribute of an imported dependency module (`httpx._types`, `asyncio.base_events._x`);
- no class of ours overrides a private method of a dependency's class it inherits from (what
  `FairAcceptLoop._accept_connection` did to asyncio).

Names with two leading and trailing underscores (`__version__`, `__aenter__`) are public protocol.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from pathlib import Path

import pytest

import plughub

ROOT = Path(plughub.__file__).parent
MODULES = sorted(
    ".".join(("plughub", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
    if "migrations" not in p.parts and p.name != "__main__.py"
)

# What a dependency documents under a private-looking name, with the page that says so.
ALLOWED: dict[str, str] = {
    # https://docs.python.org/3/library/sys.html#sys._getframe (none used today; the shape of an entry)
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(module: str) -> bool:
    return module == "plughub" or module.startswith("plughub.")


def _source(name: str) -> tuple[Path, ast.Module]:
    path = ROOT.joinpath(*name.split(".")[1:])
    path = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
    return path, ast.parse(path.read_text(), str(path))


def private_uses(tree: ast.Module) -> list[str]:
    """What a module's source uses of its dependencies' private names (see the module docstring)."""
    found: list[str] = []
    dependency_names: set[str] = set()  # names bound to a dependency's module by an import
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"line {node.lineno}: import {alias.name}")
                dependency_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module and not _ours(node.module):
            if node.module == "__future__":
                continue
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                elif inspect.ismodule(_resolve(node.module, alias.name)):
                    dependency_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in dependency_names:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return [f for f in found if f.rsplit(": ", 1)[-1] not in ALLOWED]


def _resolve(module: str, name: str) -> object:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def private_overrides(module: object, tree: ast.Module) -> list[str]:
    """Private methods a class of this module defines that a dependency's class it inherits from has."""
    found = []
    for node in tree.body:
        cls = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
        if not inspect.isclass(cls):
            continue
        theirs = [base for base in cls.__mro__[1:] if not _ours(base.__module__) and base is not object]
        defined = [
            item.name
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(item.name)
        ]
        for name in defined:
            owner = next((base for base in theirs if name in vars(base)), None)
            if owner is not None:
                found.append(f"{cls.__name__}.{name} overrides {owner.__module__}.{owner.__qualname__}.{name}")
    return found


def test_the_checks_see_what_they_look_for() -> None:
    tree = ast.parse(
        "import httpx\nimport asyncio as aio\nfrom httpx._client import Client\nfrom yaml import _x\n"
        "import sqlalchemy.engine\nfrom plughub.engine import _private_ok\n"
        "a = httpx._types\nb = aio.base_events._x\nc = sqlalchemy.engine._y\nd = self._mine\ne = httpx.__name__\n"
    )
    assert private_uses(tree) == [
        "line 3: from httpx._client import ...",
        "line 4: from yaml import _x",
        "line 7: httpx._types",
        "line 8: aio.base_events._x",
        "line 9: sqlalchemy.engine._y",
    ]

    source = (
        "import asyncio\n"
        "class Loop(asyncio.SelectorEventLoop):\n"
        "    def _accept_connection(self, *args): pass\n"  # the override the check must see
        "    def _helper(self): pass\n"  # a name of its own: fine
        "    def __repr__(self): return 'Loop()'\n"
    )
    fake = types.ModuleType("fake")
    exec(compile(source, "fake.py", "exec"), vars(fake))  # noqa: S102 - the module under test, inline
    found = private_overrides(fake, ast.parse(source))
    assert [f.split(" overrides ")[0] for f in found] == ["Loop._accept_connection"]


@pytest.mark.parametrize("name", MODULES)
def test_no_private_api_of_a_dependency(name: str) -> None:
    path, tree = _source(name)
    found = private_uses(tree) + private_overrides(importlib.import_module(name), tree)
    assert found == [], f"{path.relative_to(ROOT.parent)} uses private API of a dependency:\n" + "\n".join(found)
