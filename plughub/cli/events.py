"""`plughub triggers`, `plughub subscribe`, `plughub subscriptions ...`, `plughub events tail`, `plughub worker`."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from plughub.cli.inputs import parse_inputs
from plughub.cli.output import echo_json, table
from plughub.cli.paging import check_page, page_caption, page_options

if TYPE_CHECKING:
    from plughub.modules.model.connection import ConnectionTool
    from plughub.modules.model.subscription import Subscription

__all__ = ["events", "subscribe", "subscriptions", "triggers", "worker"]

_DB_HELP = "SQLAlchemy URL (postgresql+psycopg://user@host/db); PLUGHUB_DATABASE_URL or SQLite under PLUGHUB_HOME."


def _tool(connection_id: str) -> ConnectionTool:
    from plughub.factories import ModelFactory
    from plughub.modules.model.connection import ConnectionTool

    found = ModelFactory.get(connection_id)
    if not isinstance(found, ConnectionTool):
        raise click.ClickException(f"{connection_id} is not a connection id (see `plughub connections list`)")
    return found


def _subscription(subscription_id: str) -> Subscription:
    from plughub.backends import get_backend
    from plughub.modules.model.subscription import Subscription

    backend = get_backend()
    return Subscription.of(backend.get_subscription(subscription_id), backend)


@click.command()
@click.argument("connection_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def triggers(connection_id: str, as_json: bool) -> None:
    """List what a connection can tell you about (its triggers and their config)."""
    found = _tool(connection_id).triggers
    if as_json:
        echo_json(found)
        return
    rows = [
        (
            t.code,
            t.type,
            ", ".join(t.events) if t.events else (f"every {t.interval} s" if t.interval else ""),
            ", ".join(f"{c.code}{'*' if c.required else ''}" for c in t.config),
            t.description,
        )
        for t in found
    ]
    table("Triggers", ["code", "type", "events", "config (* required)", "description"], rows)


@click.command()
@click.argument("connection_id")
@click.argument("code")
@click.option(
    "--config",
    "-c",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A config value of the trigger. Repeat as needed.",
)
@click.option(
    "--target-url", default=None, help="Push each event there (signed per Standard Webhooks); pull otherwise."
)
@click.option(
    "--wait",
    type=click.FloatRange(0, 30),
    default=30,
    show_default=True,
    help="Seconds to wait for the webhook's registration at the provider.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def subscribe(
    connection_id: str, code: str, pairs: tuple[str, ...], target_url: str | None, wait: float, as_json: bool
) -> None:
    """Switch a trigger on for a connection. The secrets are printed this once."""
    tool = _tool(connection_id)
    schemas = {t.code: {c.code: c.json_schema for c in t.config} for t in tool.triggers}
    wanted = next((s for c, s in schemas.items() if c in (code, code.upper()) or c.endswith("_" + code.upper())), {})
    sub = tool.subscribe(code, config=parse_inputs(pairs, wanted) or None, target_url=target_url, wait=wait)
    shown = {
        "id": sub.id,
        "trigger": sub.trigger,
        "connection_id": sub.connection_id,
        "status": sub.status,
        "webhook_url": sub.webhook_url,
        "webhook_secret": sub.webhook_secret,
        "secret": sub.secret,
        "target_url": sub.target_url,
        "provider_id": sub.provider_id,
    }
    if as_json:
        echo_json(shown)
        return
    click.echo(f"Subscribed: {sub.id} ({sub.trigger})")
    if sub.status == "pending":
        click.echo(f"  pending: its webhook is being registered at the provider (plughub subscriptions show {sub.id})")
    if sub.webhook_url:
        registered = " (registered at the provider)" if sub.provider_id else " (register it at the provider)"
        click.echo(f"  webhook URL:    {sub.webhook_url}{registered}")
    if sub.webhook_secret and not sub.provider_id:
        click.echo(f"  webhook secret: {sub.webhook_secret}")
    click.echo(f"  delivery secret (verifies what plughub sends; shown once): {sub.secret}")
    click.echo(f"  events go to {sub.target_url}" if sub.target_url else f"  pull them: plughub events tail {sub.id}")


@click.group()
def subscriptions() -> None:
    """List, show and delete subscriptions."""


@subscriptions.command("list")
@click.option("--connection", "connection_id", default=None, help="Only this connection's.")
@page_options(default_size=50)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(connection_id: str | None, page: int, page_size: int, as_json: bool) -> None:
    """List subscriptions, newest first (no secrets)."""
    from plughub.backends import get_backend

    result = get_backend().list_subscriptions(connection_id, page - 1, page_size)
    found: dict[str, Any] = {
        "results": result.results,
        "total": result.total,
        "page_total": result.page_total,
        "page_number": result.page_number,
    }
    check_page(found, page, page_size)
    if as_json:
        echo_json({**found, "page_number": page})
        return
    rows = [
        (s.id, s.trigger, s.connection_id, s.type, s.status, s.target_url or "pull", s.last_error or "")
        for s in result.results
    ]
    table(
        "Subscriptions",
        ["id", "trigger", "connection", "type", "status", "target", "last error"],
        rows,
        page_caption(found, page),
    )


@subscriptions.command("show")
@click.argument("subscription_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(subscription_id: str, as_json: bool) -> None:
    """Show a subscription and its recent deliveries."""
    from plughub.backends import get_backend

    backend = get_backend()
    info = backend.get_subscription(subscription_id)
    deliveries = backend.list_deliveries(subscription_id, None, 20) if info.target_url else []
    if as_json:
        echo_json({**info.model_dump(mode="json"), "deliveries": deliveries})
        return
    rows = [(k, v) for k, v in info.model_dump(exclude={"webhook_secret", "secret"}).items() if v not in (None, {}, "")]
    table(f"Subscription {info.id}", ["field", "value"], rows)
    if deliveries:
        table(
            "Deliveries",
            ["event", "status", "attempts", "last status", "last error"],
            [(d.event_id, d.status, d.attempts, d.last_status or "", d.last_error or "") for d in deliveries],
        )


@subscriptions.command("delete")
@click.argument("subscription_id")
@click.option(
    "--wait",
    type=click.FloatRange(0, 30),
    default=30,
    show_default=True,
    help="Seconds to wait for the webhook's removal at the provider.",
)
def delete(subscription_id: str, wait: float) -> None:
    """Delete a subscription (and its webhook at the provider, when plughub registered it)."""
    result = _subscription(subscription_id).delete(wait=wait)
    if result.status == "deleting":
        click.echo(f"Deleting subscription {result.id}: its webhook is being removed at the provider")
        return
    note = "" if not result.unsubscribe_error else f" (the provider's webhook stays: {result.unsubscribe_error})"
    click.echo(f"Deleted subscription {result.id}{note}")


@subscriptions.command("redeliver")
@click.argument("subscription_id")
@click.argument("event_id")
def redeliver(subscription_id: str, event_id: str) -> None:
    """Send an event to the subscription's target again."""
    delivery = _subscription(subscription_id).redeliver(event_id)
    click.echo(f"Delivery of {delivery.event_id} is {delivery.status}")


@click.group()
def events() -> None:
    """A subscription's events."""


@events.command("tail")
@click.argument("subscription_id")
@click.option("--after", default=None, help="Start after this event id (default: from the first).")
@click.option("--follow/--no-follow", default=True, show_default=True, help="Keep waiting for new events.")
@click.option("--json", "as_json", is_flag=True, help="Print each event as one JSON line.")
def tail(subscription_id: str, after: str | None, follow: bool, as_json: bool) -> None:
    """Print a subscription's events in arrival order, then follow new ones (Ctrl+C stops)."""
    import json

    from plughub.cli.output import to_jsonable

    sub = _subscription(subscription_id)
    try:
        while True:
            found = sub.events(after=after, limit=100, wait=25 if follow else 0)
            for event in found:
                if as_json:
                    click.echo(json.dumps(to_jsonable(event.__dict__), ensure_ascii=False))
                else:
                    data = json.dumps(event.data, ensure_ascii=False)
                    click.echo(f"{event.received_at.isoformat()} {event.id} {event.type} {data[:200]}")
                after = event.id
            if not follow and len(found) < 100:
                return
    except KeyboardInterrupt:
        return


@click.command()
@click.option("--database-url", default=None, help=_DB_HELP)
def worker(database_url: str | None) -> None:
    """Run the jobs (deliveries, polls) without serving HTTP; any number may run on one PostgreSQL.

    SIGTERM or Ctrl+C stops it after the jobs under way.
    """
    import dataclasses

    from plughub.config import Settings
    from plughub.engine import Engine

    settings = Settings.from_env()
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url)
    engine = Engine(settings, database_url=settings.database_url, guard_outbound=True)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        engine.events.start_worker()
        click.echo(f"plughub worker running jobs on {engine.store.db!r}", err=True)
        while not stop.wait(1):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.close()
        click.echo("plughub worker stopped", err=True)
