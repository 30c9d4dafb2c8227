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
    count = backend.engine.rotate_keys()
    click.echo(f"Rotated the data key: {count} records re-encrypted under {backend.engine.vault.active}")


@keys.command()
def generate() -> None:
    """Print a new random master key, for PLUGHUB_SECRET_KEY."""
    from plughub.engine.vault import encode_key, new_key

    click.echo(encode_key(new_key()))
