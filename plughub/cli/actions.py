"""`plughub actions`, `plughub run` and `plughub request`: see and run a connection's actions, or any request."""

from __future__ import annotations

import json
import sys

import click

from plughub.cli.connections import _tool
from plughub.cli.errors import with_remedy
from plughub.cli.inputs import parse_inputs
from plughub.cli.output import echo_json, table
from plughub.enums import ResponseStatus

__all__ = ["actions", "request", "run"]


@click.command()
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def actions(connection_id: str, as_json: bool) -> None:
    """List a connection's actions with their inputs."""
    backend = _tool(connection_id).backend
    found = backend.list_actions(connection_id)
    if as_json:
        echo_json(found)
        return
    rows = []
    for action in found:
        inputs = ", ".join(
            f"{i.code}{'*' if i.required else ''}:{i.json_schema.get('type', 'any')}" for i in action.inputs
        )
        rows.append((action.code, action.description, inputs or "-", action.pagination or "-"))
    table("Actions", ["code", "description", "inputs (* required)", "pages"], rows)


@click.command()
@click.argument("connection_id")
@click.argument("action")
@click.option("--input", "-i", "pairs", multiple=True, metavar="KEY=VALUE", help="An action input. Repeat as needed.")
@click.option("--json", "json_inputs", default=None, metavar="'{...}'", help="All inputs as one JSON object.")
@click.option("--all", "read_all", is_flag=True, help="Read every page (the action must declare pagination).")
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --all: the most pages to read (default 10).",
)
def run(
    connection_id: str,
    action: str,
    pairs: tuple[str, ...],
    json_inputs: str | None,
    read_all: bool,
    max_pages: int | None,
) -> None:
    """Run an action; prints the service's answer as JSON (exit code 1 when it fails).

    With --all, prints the items of every page as one JSON list, and on stderr how many pages were
    read and whether more remain.
    """
    if max_pages is not None and not read_all:
        raise click.BadParameter("--max-pages goes with --all", param_hint="--max-pages")
    tool = _tool(connection_id)
    inputs: dict[str, object] = {}
    if json_inputs:
        inputs.update(_json_object(json_inputs, "--json"))
    if pairs:
        schemas = {code: spec.get("schema", {}) for code, spec in tool.get_action_inputs(action).items()}
        inputs.update(parse_inputs(pairs, schemas))
    if read_all:
        response = tool.run(action, inputs, paginate=True, max_pages=max_pages or 10)
    else:
        response = tool.run(action, inputs)
    if response.status is ResponseStatus.FAILED:
        details = response.details if isinstance(response.details, dict) else {}
        click.echo(f"Error: {with_remedy(response.error_message or '', details)}", err=True)
        if response.data:
            echo_json(response.data)
        sys.exit(1)
    echo_json(response.data)
    if read_all:
        details = response.details if isinstance(response.details, dict) else {}
        pages = details.get("pages", 0)
        summary = f"{pages} page{'s' if pages != 1 else ''}, {len(response.data or [])} items"
        if details.get("truncated"):
            summary += "; more pages remain (raise --max-pages)"
        click.echo(summary, err=True)


def _json_object(text: str, hint: str) -> dict[str, object]:
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=hint) from None
    if not isinstance(loaded, dict):
        raise click.BadParameter("must be a JSON object", param_hint=hint)
    return loaded


@click.command()
@click.argument("connection_id")
@click.argument("method")
@click.argument("path")
@click.option("--query", "-q", "query", multiple=True, metavar="KEY=VALUE", help="A query parameter. Repeat as needed.")
@click.option("--header", "-H", "header", multiple=True, metavar="NAME:VALUE", help="A header. Repeat as needed.")
@click.option("--json", "json_body", default=None, metavar="BODY", help="A JSON body.")
@click.option("--include", "-I", "include", is_flag=True, help="Print the status and the headers first.")
def request(
    connection_id: str,
    method: str,
    path: str,
    query: tuple[str, ...],
    header: tuple[str, ...],
    json_body: str | None,
    include: bool,
) -> None:
    """Send any request to the connection's service with its credentials (PATH relative to its base URL).

    Prints the answer's body (JSON indented); exit code 1 when its status is not 2xx.
    """
    params: dict[str, list[str]] = {}
    for pair in query:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{pair}' is not key=value", param_hint="--query")
        params.setdefault(key, []).append(value)
    headers: dict[str, str] = {}
    for pair in header:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{pair}' is not name:value", param_hint="--header")
        headers[name.strip()] = value.strip()
    body = None
    if json_body is not None:
        try:
            body = json.loads(json_body)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--json") from None
    tool = _tool(connection_id)
    flat = {key: values[0] if len(values) == 1 else values for key, values in params.items()}
    answer = tool.request(method, path, params=flat, json=body, headers=headers)
    if include:
        click.echo(f"HTTP {answer.status_code}")
        for name, value in answer.headers.items():
            click.echo(f"{name}: {value}")
        click.echo("")
    if isinstance(answer.data, (dict, list)):
        echo_json(answer.data)
    elif answer.data is not None:
        click.echo(answer.data)
    if not answer.ok:
        click.echo(f"Error: the service answered {answer.status_code}", err=True)
        sys.exit(1)
