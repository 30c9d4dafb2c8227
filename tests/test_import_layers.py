"""DESIGN.md §2: the layers import only downwards."""

from __future__ import annotations

import ast
from pathlib import Path

import plughub

ROOT = Path(plughub.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return {name for name in found if name.startswith("plughub")}


def _layer_imports(*parts: str) -> dict[str, set[str]]:
    base = ROOT.joinpath(*parts)
    files = [base.with_suffix(".py")] if base.with_suffix(".py").exists() else list(base.rglob("*.py"))
    return {str(f.relative_to(ROOT)): _imports(f) for f in files}


def _offenders(layer: dict[str, set[str]], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{file} imports {name}"
        for file, names in sorted(layer.items())
        for name in sorted(names)
        if name.startswith(forbidden)
    ]


def test_leaf_layers_import_nothing_of_ours_above_them() -> None:
    for leaf in ("enums", "schemas", "exceptions", "config"):
        assert (
            _offenders(
                _layer_imports(leaf),
                (
                    "plughub.engine",
                    "plughub.backends",
                    "plughub.modules",
                    "plughub.factories",
                    "plughub.server",
                    "plughub.cli",
                ),
            )
            == []
        )


def test_engine_never_imports_the_sdk_backends_or_server() -> None:
    assert (
        _offenders(
            _layer_imports("engine"),
            (
                "plughub.modules",
                "plughub.factories",
                "plughub.backends",
                "plughub.server",
                "plughub.cli",
                "plughub.sandbox",
            ),
        )
        == []
    )


def test_backends_never_import_the_sdk() -> None:
    assert _offenders(_layer_imports("backends"), ("plughub.modules", "plughub.factories", "plughub.cli")) == []


def test_embedded_backend_imports_the_engine_only_lazily() -> None:
    # A module-level import of the engine would make `import plughub` pay for SQLAlchemy and crypto.
    tree = ast.parse((ROOT / "backends" / "embedded.py").read_text())
    top_level = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert not any(m and m.startswith("plughub.engine") for m in top_level)


def test_importing_plughub_does_not_load_the_engine() -> None:
    import subprocess
    import sys

    heavy = "('plughub.engine', 'sqlalchemy', 'cryptography')"
    code = f"import sys, plughub; print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_remote_backend_never_imports_the_engine() -> None:
    # A remote-only install needs neither the crypto nor the SQL stack.
    imports = _imports(ROOT / "backends" / "remote.py")
    assert not [name for name in imports if name.startswith("plughub.engine")]
    import subprocess
    import sys

    code = (
        "import sys\nfrom plughub.backends.remote import RemoteBackend\n"
        "print(sorted(m for m in sys.modules if m.startswith(('plughub.engine', 'sqlalchemy', 'cryptography'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_engine_never_imports_the_server() -> None:
    assert _offenders(_layer_imports("engine"), ("plughub.server",)) == []
    assert _offenders(_layer_imports("server"), ("plughub.modules", "plughub.factories", "plughub.cli")) == []


def test_the_mcp_server_sits_beside_the_server_and_the_cli() -> None:
    # plughub.mcp may use the engine, the backends and the SDK's tool schemas; nothing below imports it.
    below = ("enums", "schemas", "exceptions", "config", "engine", "backends", "modules", "factories")
    assert [o for layer in below for o in _offenders(_layer_imports(layer), ("plughub.mcp",))] == []
    mine = _layer_imports("mcp")
    assert _offenders(mine, ("plughub.server", "plughub.cli", "plughub.factories", "plughub.sandbox")) == []
    assert {n for names in mine.values() for n in names if n.startswith("plughub.modules")} <= {
        "plughub.modules.model.tools"
    }
