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
@click.option(
    "--signing-secret",
    prompt="Signing secret",
    prompt_required=False,
    hide_input=True,
    default=None,
    help="The secret the provider signs the app's webhooks with (Slack); prompted without echo when given no value.",
)
@click.option(
    "--webhook-secret",
    prompt="Webhook secret",
    prompt_required=False,
    hide_input=True,
    default=None,
    help="Another webhook signing secret (${app.webhook_secret}); prompted without echo when given no value.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def set_(
    integration: str,
    client_id: str,
    client_secret: str,
    scopes: tuple[str, ...],
    signing_secret: str | None,
    webhook_secret: str | None,
    as_json: bool,
) -> None:
    """Store an integration's OAuth app, encrypted (a signing secret not given is kept)."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    info = IntegrationFactory.get(integration).set_oauth_app(
        client_id,
        client_secret,
        list(scopes) or None,
        signing_secret=signing_secret,
        webhook_secret=webhook_secret,
    )
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
    """Show an integration's OAuth app (secrets masked)."""
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
        ("signing_secret", info.signing_secret or ""),
        ("webhook_secret", info.webhook_secret or ""),
    ]
    table("OAuth app", ["field", "value"], rows)


@oauth_app.command("delete")
@click.argument("integration")
def delete(integration: str) -> None:
    """Delete an integration's stored OAuth app."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    IntegrationFactory.get(integration).delete_oauth_app()
    click.echo(f"Deleted the stored OAuth app of {integration}")
