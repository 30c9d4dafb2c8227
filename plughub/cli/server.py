"""`plughub serve`, `plughub db upgrade`, `plughub teams ...`, `plughub api-keys ...`."""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
from contextlib import contextmanager
from urllib.parse import urlsplit

import click

from plughub.cli.output import echo_json, table

__all__ = ["api_keys", "db", "serve", "teams"]

_DB_HELP = "SQLAlchemy URL (postgresql+psycopg://user@host/db); PLUGHUB_DATABASE_URL or SQLite under PLUGHUB_HOME."


def _store(database_url: str | None):  # type: ignore[no-untyped-def]
    from plughub.config import Settings, ensure_home
    from plughub.engine.store import Database, Store, open_database, sqlite_url

    settings = Settings.from_env()
    url = database_url or settings.database_url or sqlite_url(ensure_home(settings.home))
    return Store(Database(open_database(url)))


@contextmanager
def _teams(database_url: str | None):  # type: ignore[no-untyped-def]
    """The tenancy calls over the database, closed when the block ends."""
    from plughub.engine.teams import Teams

    store = _store(database_url)
    try:
        yield Teams(store)
    finally:
        store.close()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, help="Port to listen on (0: any free port).")
@click.option("--database-url", default=None, help=_DB_HELP)
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
@click.option(
    "--loop",
    type=click.Choice(["asyncio", "uvloop", "auto"]),
    default="asyncio",
    show_default=True,
    help="Event loop (auto: uvloop when installed). asyncio kept tail latency lowest here (see BENCHMARKS.md).",
)
def serve(host: str, port: int, database_url: str | None, workers: int, loop: str) -> None:
    """Serve the REST API, the OAuth callback and the hosted connect pages.

    With --workers above 1, each worker accepts on a socket of its own (SO_REUSEPORT, on Linux),
    so that the kernel spreads connections evenly; a worker that dies is replaced.
    """
    from plughub.server.metrics_dir import fresh_metrics_dir
    from plughub.server.workers import WorkerFailed
    from plughub.server.workers import serve as serve_workers

    if workers < 1:
        raise click.BadParameter("at least 1", param_hint="'--workers'")
    if database_url:
        os.environ["PLUGHUB_DATABASE_URL"] = database_url
    _store(database_url).close()  # migrate once, before any worker starts
    bound = _free_port(host, port)
    address = _address(host, bound)
    click.echo(f"plughub serving on {address} (API docs at /docs)", err=True)
    _announce_links(address)
    # SIGTERM (a service manager, `docker stop`) stops the server as Ctrl+C does: requests in
    # flight finish, the logs are written out, and the exit status is 0.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with fresh_metrics_dir():  # the workers' metrics files, for this start only
            serve_workers(host, bound, workers, loop)
    except WorkerFailed as exc:
        raise click.ClickException(f"{exc}; the server could not start (its log above says why)") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _free_port(host: str, port: int) -> int:
    """Bind the address once, so that a busy port is one clear line; the port bound (for `--port 0`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        # The options uvicorn binds with, so that what passes here passes there (it binds next).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            hint = "; stop what uses it, or choose another --port" if exc.errno == errno.EADDRINUSE else ""
            raise click.ClickException(f"cannot listen on {host}:{port}: {reason.lower()}{hint}") from None
        return int(probe.getsockname()[1])


def _address(host: str, port: int) -> str:
    """The server's URL on this machine (an address that listens everywhere is reached on loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104 - read, not bound
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _announce_links(address: str) -> None:
    """Point links at the server actually listening, and say when only this machine can open them."""
    if os.environ.get("PLUGHUB_PUBLIC_URL"):
        return
    # Connect links (and the OAuth redirect) follow the callback URL's origin: by default the
    # bound address, not the port 8765 that `PLUGHUB_CALLBACK_URL` defaults to.
    os.environ.setdefault("PLUGHUB_CALLBACK_URL", f"{address}/oauth/callback")
    from plughub.config import Settings

    links = Settings.from_env().base_url
    if _loopback(links):
        click.echo(
            f"Connect links and OAuth callbacks use {links}, which only this machine can open; "
            "set PLUGHUB_PUBLIC_URL to the address people reach the server at.",
            err=True,
        )


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@click.option("--database-url", default=None, help=_DB_HELP)
def upgrade(database_url: str | None) -> None:
    """Apply every pending migration (plughub serve also does it at start)."""
    from plughub.engine.store import HEAD_REVISION

    _store(database_url).close()
    click.echo(f"The database is at revision {HEAD_REVISION}.")


@click.group()
def teams() -> None:
    """Teams of the server."""


@teams.command("create")
@click.argument("name")
@click.option("--database-url", default=None, help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_team(name: str, database_url: str | None, as_json: bool) -> None:
    """Create a team."""
    with _teams(database_url) as tenancy:
        team = tenancy.create_team(name)
    if team is None:
        raise click.ClickException(f"a team named {name!r} exists already")
    if as_json:
        echo_json({"id": team.id, "name": team.name})
    else:
        click.echo(f"Created team {team.name} ({team.id})")


@teams.command("list")
@click.option("--database-url", default=None, help=_DB_HELP)
def list_teams(database_url: str | None) -> None:
    """List teams."""
    with _teams(database_url) as tenancy:
        rows = [(t.id, t.name, t.created_at.strftime("%Y-%m-%d %H:%M")) for t in tenancy.list_teams()]
    table("Teams", ["id", "name", "created"], rows)


@teams.command("set-redirect-urls")
@click.argument("team")
@click.argument("urls", nargs=-1)
@click.option("--clear", is_flag=True, help="Allow none (connect sessions then take no redirect_url).")
@click.option("--database-url", default=None, help=_DB_HELP)
def set_redirect_urls(team: str, urls: tuple[str, ...], clear: bool, database_url: str | None) -> None:
    """Set where a team's connect pages may send end users back to (a session's redirect_url).

    Each URL is absolute http(s) without query or fragment; a session's redirect_url must have the
    scheme, host, port and path of one of them (its query is free).
    """
    if not urls and not clear:
        raise click.UsageError("give one or more URLs, or --clear")
    if urls and clear:
        raise click.UsageError("give URLs or --clear, not both")
    with _teams(database_url) as tenancy:
        kept = tenancy.set_redirect_urls(_team(tenancy, team).id, list(urls))
    click.echo("Allowed redirect URLs: " + (", ".join(kept) if kept else "none"))


@click.group("api-keys")
def api_keys() -> None:
    """API keys of a team (shown once, stored hashed)."""


def _team(tenancy, team: str):  # type: ignore[no-untyped-def]
    found = tenancy.find_team(team)
    if found is None:
        raise click.ClickException(f"no team {team!r}; create it with `plughub teams create {team}`")
    return found


@api_keys.command("create")
@click.option("--team", required=True, help="Team id or name.")
@click.option("--name", default="default", show_default=True, help="What the key is for.")
@click.option("--database-url", default=None, help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create_key(team: str, name: str, database_url: str | None, as_json: bool) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    with _teams(database_url) as tenancy:
        record, key = tenancy.create_api_key(_team(tenancy, team).id, name)
    if as_json:
        echo_json({"id": record.id, "team_id": record.team_id, "name": record.name, "key": key})
    else:
        click.echo(f"Created key {record.id} for team {record.team_id}. Store it now, it is not shown again:\n{key}")


@api_keys.command("list")
@click.option("--team", required=True, help="Team id or name.")
@click.option("--database-url", default=None, help=_DB_HELP)
def list_keys(team: str, database_url: str | None) -> None:
    """List a team's keys (never the keys themselves)."""
    with _teams(database_url) as tenancy:
        rows = [
            (
                k.id,
                k.name,
                k.prefix + "...",
                k.created_at.strftime("%Y-%m-%d %H:%M"),
                k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
            )
            for k in tenancy.list_api_keys(_team(tenancy, team).id)
        ]
    table("API keys", ["id", "name", "prefix", "created", "revoked"], rows)


@api_keys.command("revoke")
@click.argument("key_id")
@click.option("--database-url", default=None, help=_DB_HELP)
def revoke_key(key_id: str, database_url: str | None) -> None:
    """Revoke a key by its id."""
    with _teams(database_url) as tenancy:
        revoked = tenancy.revoke_api_key(key_id)
    if not revoked:
        raise click.ClickException(f"no active key {key_id!r}")
    click.echo(f"Revoked key {key_id}")
