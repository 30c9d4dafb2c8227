"""`plughub actions` and `plughub run`: see and run a connection's actions."""

from __future__ import annotations

import json
import sys

import click

from plughub.cli.connections import _tool
from plughub.cli.errors import with_remedy
from plughub.cli.inputs import parse_inputs
from plughub.cli.output import echo_json, table
from plughub.enums import ResponseStatus

__all__ = ["actions", "run"]


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
        rows.append((action.code, action.description, inputs or "-"))
    table("Actions", ["code", "description", "inputs (* required)"], rows)


@click.command()
@click.argument("connection_id")
@click.argument("action")
@click.option("--input", "-i", "pairs", multiple=True, metavar="KEY=VALUE", help="An action input. Repeat as needed.")
@click.option("--json", "json_inputs", default=None, metavar="'{...}'", help="All inputs as one JSON object.")
def run(connection_id: str, action: str, pairs: tuple[str, ...], json_inputs: str | None) -> None:
    """Run an action; prints the service's answer as JSON (exit code 1 when it fails)."""
    tool = _tool(connection_id)
    inputs: dict[str, object] = {}
    if json_inputs:
        try:
            loaded = json.loads(json_inputs)
        except ValueError as exc:
            raise click.BadParameter(f"not valid JSON: {exc}", param_hint="--json") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--json")
        inputs.update(loaded)
    if pairs:
        schemas = {code: spec.get("schema", {}) for code, spec in tool.get_action_inputs(action).items()}
        inputs.update(parse_inputs(pairs, schemas))
    response = tool.run(action, inputs)
    if response.status is ResponseStatus.FAILED:
        details = response.details if isinstance(response.details, dict) else {}
        click.echo(f"Error: {with_remedy(response.error_message or '', details)}", err=True)
        if response.data:
            echo_json(response.data)
        sys.exit(1)
    echo_json(response.data)
