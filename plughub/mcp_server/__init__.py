"""plughub as an MCP server: connections' actions as MCP tools, over stdio or streamable HTTP.

```python
from plughub.backends import get_backend
from plughub.mcp_server import Toolset, serve_stdio

toolset = Toolset(get_backend(), ["<connection id>"], actions=["GITHUB_CREATE_ISSUE"])
toolset.check()  # unknown ids or codes raise here, before serving
anyio.run(serve_stdio, toolset)
```

`plughub mcp serve` does this from the command line, and `plughub serve` routes `/mcp` to
`team_endpoint` (a team's connections behind its API key). The names that need the MCP SDK load it
on first use: it takes half a second to import, which checking arguments need not wait for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from plughub.mcp_server.toolset import ActionSource, ExposedTool, Toolset, name_tools, result_of

if TYPE_CHECKING:
    from plughub.mcp_server.server import (
        SCOPE_KEY,
        StreamableHTTPEndpoint,
        build_server,
        http_app,
        loopback_security,
        serve_stdio,
    )
    from plughub.mcp_server.team import END_USER_HEADER, TeamSource, team_endpoint

__all__ = [
    "END_USER_HEADER",
    "SCOPE_KEY",
    "ActionSource",
    "ExposedTool",
    "StreamableHTTPEndpoint",
    "TeamSource",
    "Toolset",
    "build_server",
    "http_app",
    "loopback_security",
    "name_tools",
    "result_of",
    "serve_stdio",
    "team_endpoint",
]

_LAZY = {
    "SCOPE_KEY": "server",
    "StreamableHTTPEndpoint": "server",
    "build_server": "server",
    "http_app": "server",
    "loopback_security": "server",
    "serve_stdio": "server",
    "END_USER_HEADER": "team",
    "TeamSource": "team",
    "team_endpoint": "team",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'plughub.mcp_server' has no attribute {name!r}")
    return getattr(importlib.import_module(f"plughub.mcp_server.{_LAZY[name]}"), name)
