"""`plughub keys ...`: the master key and the data keys."""

from __future__ import annotations

import click

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Manage encryption keys."""


@keys.command()
def rotate() -> None:
    """Re-encrypt every stored secret under a new data key, in one transaction."""
    from plughub.backends import get_backend
    from plughub.backends.embedded import EmbeddedBackend

    backend = get_backend()
    if not isinstance(backend, EmbeddedBackend):
        raise click.UsageError("keys rotate works on the embedded store; run it where PLUGHUB_HOME lives")
    count = backend.engine.credentials.rotate()
    click.echo(f"Rotated the data key: {count} records re-encrypted under {backend.engine.credentials.active_key_id}")


@keys.command()
def generate() -> None:
    """Print a new random master key, for PLUGHUB_SECRET_KEY."""
    from plughub.engine.credentials import generate_master_key

    click.echo(generate_master_key())
