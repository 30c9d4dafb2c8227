"""`plughub oauth-app ...`: the OAuth client plughub is at each provider."""

from __future__ import annotations

import click

from plughub.cli.output import echo_json, table

__all__ = ["oauth_app"]


@click.group("oauth-app")
def oauth_app() -> None:
    """Set, show and delete an integration's OAuth app (client id and secret)."""


@oauth_app.command("set")
@click.argument("integration")
@click.option("--client-id", required=True, help="The client id (consumer key for OAuth 1.0a).")
@click.option("--client-secret", prompt=True, hide_input=True, help="The client secret; prompted without echo.")
@click.option("--scope", "scopes", multiple=True, help="A scope to ask for (repeat); the definition's by default.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def set_(integration: str, client_id: str, client_secret: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Store an integration's OAuth app, encrypted."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    info = IntegrationFactory.get(integration).set_oauth_app(client_id, client_secret, list(scopes) or None)
    if as_json:
        echo_json(info)
        return
    click.echo(
        f"Stored the OAuth app of {integration} (client id {info.client_id}); "
        f"register {info.redirect_uri} as its redirect URI at the provider."
    )


@oauth_app.command("show")
@click.argument("integration")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(integration: str, as_json: bool) -> None:
    """Show an integration's OAuth app (secret masked)."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    info = IntegrationFactory.get(integration).get_oauth_app()
    if as_json:
        echo_json(info)
        return
    rows = [
        ("integration", info.integration_id),
        ("client_id", info.client_id),
        ("client_secret", info.client_secret),
        ("scopes", " ".join(info.scopes or []) or "(definition's)"),
        ("source", info.source),
        ("redirect_uri", info.redirect_uri),
    ]
    table("OAuth app", ["field", "value"], rows)


@oauth_app.command("delete")
@click.argument("integration")
def delete(integration: str) -> None:
    """Delete an integration's stored OAuth app."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    IntegrationFactory.get(integration).delete_oauth_app()
    click.echo(f"Deleted the stored OAuth app of {integration}")
