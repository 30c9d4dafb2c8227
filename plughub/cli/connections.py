"""`plughub connect`, `plughub connections ...`: create, list, show and delete connections."""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING

import click

from plughub.cli.inputs import parse_inputs
from plughub.cli.output import echo_json, table
from plughub.cli.paging import check_page, page_caption, page_options
from plughub.enums import AuthenticationSchema, FunctionType

if TYPE_CHECKING:
    from plughub.modules.model.connection import ConnectionTool

__all__ = ["connect", "connections"]

_SCHEMES = [s.value for s in AuthenticationSchema]


@click.command()
@click.argument("integration")
@click.option(
    "--scheme", "-s", required=True, type=click.Choice(_SCHEMES, case_sensitive=False), help="Authentication scheme."
)
@click.option("--name", default=None, help="A name for the connection.")
@click.option("--description", default=None, help="What the connection is for.")
@click.option(
    "--input",
    "-i",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A connect input (token, api_key, username, subdomain, ...). Repeat as needed.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="OAuth: listen on PLUGHUB_CALLBACK_URL until the consent completes.",
)
@click.option("--timeout", default=300.0, show_default=True, help="OAuth: seconds to wait for the consent.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def connect(
    integration: str,
    scheme: str,
    name: str | None,
    description: str | None,
    pairs: tuple[str, ...],
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Connect to an integration. Secret inputs not given are prompted for without echo.

    For OAUTH2 and OAUTH1 the consent URL is printed, and plughub listens on the callback address
    (PLUGHUB_CALLBACK_URL) until the provider sends the browser back.
    """
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs, not for --help

    found = IntegrationFactory.get(integration)
    chosen = AuthenticationSchema(scheme.upper())
    info = found.info.scheme(chosen)
    fields = {f.code: f for f in info.inputs} if info else {}
    data = parse_inputs(pairs, {code: f.json_schema for code, f in fields.items()})
    if sys.stdin.isatty():
        for code, field in fields.items():
            if field.required and code not in data:
                value = click.prompt(f"{field.name} ({field.description or code})", hide_input=field.secret)
                data.update(parse_inputs([f"{code}={value}"], {code: field.json_schema}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the URL is printed below instead
        response = found.connect(chosen, data=data, name=name, description=description)
    if "redirectURL" in response.data:
        _await_consent(response.data["id"], response.data["redirectURL"], wait, timeout, as_json)
        return
    if as_json:
        echo_json(response.data)
        return
    click.echo(f"Connected {found.name} with {chosen.value}: connection id {response.data['id']}")


def _await_consent(connection_id: str, url: str, wait: bool, timeout: float, as_json: bool) -> None:
    from plughub.callbacks import listen_for_callback
    from plughub.config import Settings

    callback = Settings.from_env().callback_url
    if not wait:
        if as_json:
            echo_json({"id": connection_id, "status": "pending", "redirectURL": url})
        else:
            click.echo(f"Connection {connection_id} is pending. Open this URL to give consent:\n{url}")
        return
    from plughub.backends import get_backend
    from plughub.backends.remote import RemoteBackend

    if isinstance(get_backend(), RemoteBackend):
        # The server receives the callback; follow the connection's status instead of listening.
        click.echo(f"Open this URL to give consent (waiting up to {timeout:g} s):\n{url}", err=as_json)
        tool = _tool(connection_id).wait_until_active(timeout)
    else:
        click.echo(f"Open this URL to give consent (waiting up to {timeout:g} s on {callback}):\n{url}", err=as_json)
        tool = listen_for_callback(callback, timeout=timeout)
    if as_json:
        echo_json({"id": tool.id, "status": "active"})
    else:
        click.echo(f"Connection {tool.id} is active.")


@click.group()
def connections() -> None:
    """List, show and delete connections."""


@connections.command("list")
@click.option("--query", "-q", default=None, help="Text to find in names, descriptions, integration ids.")
@page_options(default_size=50)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(query: str | None, page: int, page_size: int, as_json: bool) -> None:
    """List connections, newest first."""
    from plughub.factories import ModelFactory  # pydantic: loaded when a command runs, not for --help
    from plughub.modules.model.connection import ConnectionTool

    found = ModelFactory.list(
        function_type=FunctionType.CONNECTION, query=query, page_number=page - 1, page_size=page_size
    )
    check_page(found, page, page_size)
    infos = [tool._connection for tool in found["results"] if isinstance(tool, ConnectionTool)]
    if as_json:
        echo_json({**found, "results": infos, "page_number": page})
        return
    rows = [
        (c.id, c.name, c.integration_id, c.scheme.value, c.status.value, c.created_at.strftime("%Y-%m-%d %H:%M"))
        for c in infos
        if c is not None
    ]
    table("Connections", ["id", "name", "integration", "scheme", "status", "created"], rows, page_caption(found, page))


@connections.command("show")
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(connection_id: str, as_json: bool) -> None:
    """Show a connection (secrets masked)."""
    info = _tool(connection_id).connection
    if as_json:
        echo_json(info)
        return
    rows = [
        ("id", info.id),
        ("name", info.name),
        ("integration", f"{info.integration_name} ({info.integration_id})"),
        ("scheme", info.scheme.value),
        ("status", info.status.value),
        ("base_url", info.base_url or "default"),
        *[(f"config.{k}", v) for k, v in info.config.items()],
        *[(f"credentials.{k}", v) for k, v in info.credentials.items()],
        ("error", info.error or ""),
        ("created", info.created_at.isoformat()),
    ]
    table("Connection", ["field", "value"], rows)


@connections.command("reconnect")
@click.argument("connection_id")
@click.option(
    "--scope", "scopes", multiple=True, help="A scope to ask for (repeat); the app's or definition's by default."
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Listen until the consent completes.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the consent.")
def reconnect(connection_id: str, scopes: tuple[str, ...], wait: bool, timeout: float) -> None:
    """Ask for OAuth consent again, keeping the connection id."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        response = _tool(connection_id).reconnect(list(scopes) or None)
    _await_consent(connection_id, response.data["redirectURL"], wait, timeout, False)


@connections.command("delete")
@click.argument("connection_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--wait",
    type=click.FloatRange(0, 30),
    default=30,
    show_default=True,
    help="Seconds to wait for its subscriptions' webhooks to be removed at the provider.",
)
def delete(connection_id: str, yes: bool, wait: float) -> None:
    """Delete a connection and its credentials (and its subscriptions' webhooks at the provider)."""
    tool = _tool(connection_id)
    if not yes:
        click.confirm(f"Delete connection {tool.id} ({tool.name})?", abort=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # reported below
        result = tool.delete(wait=wait)
    if result.status == "deleting":
        click.echo(f"Deleting connection {tool.id}: its subscriptions' webhooks are being removed at the provider")
        return
    if result.revocation_error:
        click.echo(f"Warning: the provider did not revoke the tokens: {result.revocation_error}", err=True)
    click.echo(f"Deleted connection {tool.id}" + (" (tokens revoked at the provider)" if result.revoked else ""))


def _tool(connection_id: str) -> ConnectionTool:
    from plughub.exceptions import ConnectionNotFound, NotFoundError
    from plughub.factories import ModelFactory  # pydantic: loaded when a command runs, not for --help
    from plughub.modules.model.connection import ConnectionTool

    try:
        model = ModelFactory.get(connection_id)
    except NotFoundError:
        # The SDK looks for an integration too; here only a connection fits, so say just that.
        raise ConnectionNotFound(f"No connection with id '{connection_id}'.", details={"id": connection_id}) from None
    if not isinstance(model, ConnectionTool):
        raise click.BadParameter(f"'{connection_id}' is an integration, not a connection", param_hint="CONNECTION_ID")
    return model
