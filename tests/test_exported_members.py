"""Every module declares `__all__`; public packages export exactly their public names, sorted."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import plughub

ROOT = Path(plughub.__file__).parent
MODULES = sorted(
    ".".join(("plughub", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__")
    for p in ROOT.rglob("*.py")
    if "migrations" not in p.parts and p.name != "__main__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_all(name: str) -> None:
    path = ROOT.joinpath(*name.split(".")[1:])
    source = (path / "__init__.py") if path.is_dir() else path.with_suffix(".py")
    tree = ast.parse(source.read_text())
    assert any(
        isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(node) for node in tree.body
    ), f"{name} has no __all__"
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert hasattr(module, exported), f"{name}.__all__ names {exported}, which does not exist"


PUBLIC = {
    "plughub": [
        "AuthenticationSchema",
        "BaseAuthenticationParams",
        "ConnectAction",
        "ConnectionTool",
        "Function",
        "FunctionType",
        "Integration",
        "IntegrationFactory",
        "MCPConnection",
        "Model",
        "ModelFactory",
        "ModelResponse",
        "ResponseStatus",
        "Supplier",
        "__version__",
        "build_connector_params",
        "complete_authorization",
    ],
    "plughub.modules.model.integration": [
        "AuthenticationSchema",
        "BaseAuthenticationParams",
        "Integration",
        "build_connector_params",
    ],
    "plughub.modules.model.connection": ["ConnectAction", "ConnectionTool", "ProxyResponse"],
    "plughub.modules.model.mcp_connection": ["MCPConnection"],
    "plughub.modules.model": ["Model", "ModelResponse"],
    "plughub.factories": ["IntegrationFactory", "ModelFactory"],
    "plughub.enums": [
        "AuthenticationSchema",
        "ConnectionStatus",
        "Function",
        "FunctionType",
        "ResponseStatus",
        "Supplier",
    ],
    "plughub.backends": ["Backend", "EmbeddedBackend", "get_backend", "reset_backend", "set_backend"],
    "plughub.engine": ["Engine"],
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_surface_is_pinned(name: str) -> None:
    module = importlib.import_module(name)
    assert sorted(module.__all__, key=str.casefold) == sorted(PUBLIC[name], key=str.casefold)
