"""plughub: a self-hosted integration hub with the aiXplain SDK's integration API.

```python
from plughub import IntegrationFactory, ModelFactory, AuthenticationSchema

github = IntegrationFactory.get("github")
response = github.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": "ghp_..."})
tool = ModelFactory.get(response.data["id"])
tool.run("GITHUB_GET_AUTHENTICATED_USER", {})
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plughub.callbacks import complete_authorization
    from plughub.enums import AuthenticationSchema, Function, FunctionType, ResponseStatus, Supplier
    from plughub.factories import IntegrationFactory, ModelFactory
    from plughub.modules.model import Model, ModelResponse
    from plughub.modules.model.connection import ConnectAction, ConnectionTool
    from plughub.modules.model.integration import BaseAuthenticationParams, Integration, build_connector_params
    from plughub.modules.model.mcp_connection import MCPConnection

# Loaded on first use (PEP 562): `import plughub` stays cheap for the CLI and for code that only
# needs one part; `from plughub import ModelFactory` loads what that name needs.
_LAZY = {
    "complete_authorization": "plughub.callbacks",
    "AuthenticationSchema": "plughub.enums",
    "Function": "plughub.enums",
    "FunctionType": "plughub.enums",
    "ResponseStatus": "plughub.enums",
    "Supplier": "plughub.enums",
    "IntegrationFactory": "plughub.factories",
    "ModelFactory": "plughub.factories",
    "Model": "plughub.modules.model",
    "ModelResponse": "plughub.modules.model",
    "ConnectAction": "plughub.modules.model.connection",
    "ConnectionTool": "plughub.modules.model.connection",
    "BaseAuthenticationParams": "plughub.modules.model.integration",
    "Integration": "plughub.modules.model.integration",
    "build_connector_params": "plughub.modules.model.integration",
    "MCPConnection": "plughub.modules.model.mcp_connection",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    # Read lazily: importlib.metadata costs time that `import plughub` should not pay.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("plughub")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0+unknown"
    raise AttributeError(f"module 'plughub' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
