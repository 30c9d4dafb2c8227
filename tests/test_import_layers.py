"""DESIGN.md §2: the layers import only downwards."""

from __future__ import annotations

import ast
import json
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
    # plughub.mcp_server may use the engine and the tool schemas; nothing below imports it, and it
    # never imports the SDK, the backends (the CLI hands it a Backend), the server or the CLI.
    below = ("enums", "schemas", "exceptions", "config", "engine", "backends", "modules", "factories", "tool_schemas")
    assert [o for layer in below for o in _offenders(_layer_imports(layer), ("plughub.mcp_server",))] == []
    forbidden = ("plughub.server", "plughub.cli", "plughub.modules", "plughub.factories", "plughub.backends")
    assert _offenders(_layer_imports("mcp_server"), (*forbidden, "plughub.sandbox")) == []


def test_tool_schemas_import_only_the_leaf_layers() -> None:
    # The SDK and the MCP server share them: they may import what both may, and no more.
    imported = {name for names in _layer_imports("tool_schemas").values() for name in names}
    leaves = ("plughub.enums", "plughub.schemas", "plughub.exceptions", "plughub.text", "plughub.tool_schemas")
    assert {name for name in imported if not name.startswith(leaves)} == set()


def _loaded(program: str, home: Path) -> list[str]:
    """The plughub modules a program has loaded when it ends, run in a fresh interpreter."""
    import os
    import subprocess
    import sys

    code = program + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('plughub'))))"
    env = {**os.environ, "PLUGHUB_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT.parent, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _under(loaded: list[str], *packages: str) -> list[str]:
    return [name for name in loaded if name in packages or name.startswith(tuple(p + "." for p in packages))]


def test_the_server_never_loads_the_sdk(tmp_path: Path) -> None:
    program = """
from plughub.config import Settings
from plughub.server.app import create_app
app = create_app(settings=Settings.from_env())
assert app.api.openapi()["paths"]
app.api.state.engine.close()
"""
    loaded = _loaded(program, tmp_path)
    assert "plughub.server.app" in loaded and "plughub.mcp_server.team" in loaded  # the program did build it
    assert _under(loaded, "plughub.modules", "plughub.factories", "plughub.backends") == []


def test_an_engine_only_program_loads_neither_the_server_nor_the_sdk(tmp_path: Path) -> None:
    program = """
from plughub.engine import Engine
from plughub.enums import AuthenticationSchema
from plughub.schemas import ConnectRequest
from tests.upstream import Reply, Upstream

upstream = Upstream()
upstream.route("GET", "/ping", lambda seen: Reply(200, {"pong": True}))
engine = Engine(guard_outbound=False)
definition = {
    "id": "ping",
    "display_name": "Ping",
    "base_url": upstream.url,
    "auth": [{"mode": "NO_AUTH"}],
    "actions": {"PING_PING": {"display_name": "Ping", "method": "GET", "path": "/ping"}},
}
engine.integrations.create(definition)
connection = engine.connections.create(ConnectRequest(integration_id="ping", scheme=AuthenticationSchema.NO_AUTH))
result = engine.actions.run(connection.id, "PING_PING", {})
assert result.data == {"pong": True}, result
engine.close()
upstream.close()
"""
    loaded = _loaded(program, tmp_path)
    assert "plughub.engine.engine" in loaded
    assert _under(loaded, "plughub.server", "plughub.modules", "plughub.backends", "plughub.mcp_server") == []
    # The embedded engine on SQLite needs none of the server's libraries nor PostgreSQL's dialect
    # (B6 counts every megabyte of them).
    assert (
        _under(loaded, "sqlalchemy.dialects.postgresql", "psycopg", "procrastinate", "fastapi", "jinja2", "aiohttp")
        == []
    )
