"""The `plughub` command: thin over the library; one-line errors unless `--debug`."""

from __future__ import annotations

import logging
from typing import Any

import click

from plughub.cli.actions import actions, request, run
from plughub.cli.connections import connect, connections
from plughub.cli.errors import cli_message, server_extra_missing
from plughub.cli.events import events, subscribe, subscriptions, triggers, worker
from plughub.cli.integrations import integrations
from plughub.cli.keys import keys
from plughub.cli.mcp_server import mcp
from plughub.cli.oauth_apps import oauth_app
from plughub.cli.server import api_keys, db, serve, teams
from plughub.exceptions import PlughubError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns plughub's errors into one line and a non-zero exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (PlughubError, ValueError, TimeoutError) as exc:
            if debug:
                raise
            message = cli_message(exc) if isinstance(exc, PlughubError) else str(exc)
            raise click.ClickException(" ".join(message.split())) from None
        except ImportError as exc:
            if debug or not server_extra_missing(exc):
                raise
            # `pip install .` leaves the server's dependencies out; say so instead of a traceback.
            command = f"plughub {ctx.invoked_subcommand}" if ctx.invoked_subcommand else "plughub"
            raise click.ClickException(f"{command} needs the server extra: pip install 'plughub[server]'") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="plughub")
def cli(debug: bool) -> None:
    """plughub: connect applications and agents to external services."""
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")


@cli.command()
def demo() -> None:
    """Run the offline demo: a sandbox API, four schemes, real requests, encrypted secrets."""
    from plughub.demo import run_demo

    run_demo()


cli.add_command(integrations)
cli.add_command(connections)
cli.add_command(connect)
cli.add_command(actions)
cli.add_command(run)
cli.add_command(request)
cli.add_command(keys)
cli.add_command(oauth_app)
cli.add_command(mcp)
for _command in (triggers, subscribe, subscriptions, events, worker):
    cli.add_command(_command)
for _command in (serve, db, teams, api_keys):
    cli.add_command(_command)


def main() -> None:
    """Run the CLI."""
    cli(prog_name="plughub")
