"""`plughub mcp serve`: connections' actions as MCP tools, for a desktop agent (stdio) or over HTTP."""

from __future__ import annotations

import re

import click

__all__ = ["mcp"]

_SPLIT = re.compile(r"[\s,]+")


def _split(values: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(v for raw in values for v in _SPLIT.split(raw) if v))


@click.group("mcp")
def mcp() -> None:
    """Serve connections as MCP tools (plughub as an MCP server)."""


@mcp.command("serve")
@click.option(
    "--connection",
    "-c",
    "connections",
    multiple=True,
    required=True,
    metavar="ID",
    help="A connection whose actions become tools. Repeat (or separate with commas) for more.",
)
@click.option(
    "--actions",
    "-a",
    "actions",
    multiple=True,
    metavar="CODE",
    help="Expose only these action codes (repeat or separate with commas); all actions by default.",
)
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="http: address to listen on.")
@click.option("--port", default=8765, show_default=True, help="http: port to listen on (the endpoint is /mcp).")
def serve(connections: tuple[str, ...], actions: tuple[str, ...], transport: str, host: str, port: int) -> None:
    """Serve connections' actions as MCP tools; credentials stay in plughub.

    Over stdio (for desktop agents: the agent starts this command) nothing but the protocol is
    written to stdout; messages go to stderr. Over http the endpoint is http://HOST:PORT/mcp.
    Connection ids and action codes are checked before serving.
    """
    import anyio

    from plughub.backends import get_backend
    from plughub.mcp_server import Toolset, http_app, serve_stdio

    ids, codes = _split(connections), _split(actions)
    toolset = Toolset(get_backend(), ids, codes or None)
    tools = toolset.check()
    where = "stdio" if transport == "stdio" else f"http://{host}:{port}/mcp"
    click.echo(f"plughub MCP server: {len(tools)} tools from {len(ids)} connection(s) on {where}", err=True)
    if transport == "stdio":
        anyio.run(serve_stdio, toolset)
        return
    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Warning: this endpoint has no authentication; anyone who reaches {host}:{port} can run these "
            "actions with your credentials. `plughub serve` offers /mcp behind API keys.",
            err=True,
        )
    uvicorn.run(http_app(toolset, host=host), host=host, port=port, log_config=None, access_log=False)
