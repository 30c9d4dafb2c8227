"""Backends: where the SDK's calls are served. The embedded engine unless `PLUGHUB_URL` is set."""

from __future__ import annotations

import threading

from plughub.backends.base import Backend
from plughub.backends.embedded import EmbeddedBackend
from plughub.config import Settings
from plughub.exceptions import ConfigurationError

__all__ = ["Backend", "EmbeddedBackend", "get_backend", "reset_backend", "set_backend"]

_default: Backend | None = None
_lock = threading.Lock()


def get_backend() -> Backend:
    """Return the process's default backend, creating it from the environment on first use.

    `PLUGHUB_URL` (with `PLUGHUB_API_KEY`) selects a plughub server; otherwise the embedded engine
    under `PLUGHUB_HOME` serves.

    Returns:
        The backend.

    Raises:
        ConfigurationError: `PLUGHUB_URL` is set without `PLUGHUB_API_KEY`.
    """
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                settings = Settings.from_env()
                if settings.url:
                    from plughub.backends.remote import RemoteBackend

                    if not settings.api_key:
                        raise ConfigurationError(
                            "PLUGHUB_URL is set but PLUGHUB_API_KEY is not: create a key with "
                            "`plughub api-keys create --team TEAM` on the server and export it"
                        )
                    _default = RemoteBackend(settings.url, settings.api_key)
                else:
                    _default = EmbeddedBackend(settings=settings)
    return _default


def set_backend(backend: Backend) -> None:
    """Make a backend the process default (closing nothing).

    Args:
        backend: The backend every SDK object without its own will use.
    """
    global _default
    _default = backend


def reset_backend() -> None:
    """Close and forget the default backend; the next call reads the environment again."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = None
