"""Settings read from the environment (prefix `PLUGHUB_`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Settings", "ensure_home"]

DEFAULT_CALLBACK_URL = "http://127.0.0.1:8765/oauth/callback"


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        # Imported lazily to keep this module a leaf with no import-time cost.
        from plughub.exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}.") from None


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not value > 0:
        from plughub.exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be a number of seconds above 0, not {env.get(name)!r}.")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    from plughub.exceptions import ConfigurationError

    raise ConfigurationError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {raw!r}.")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    from plughub.origins import ANY_ORIGIN, normalize_origin

    found: list[str] = []
    for raw in (env.get(name) or "").split(","):
        if not raw.strip():
            continue
        origin = ANY_ORIGIN if raw.strip() == ANY_ORIGIN else normalize_origin(raw.strip().rstrip("/"))
        if origin is None:
            from plughub.exceptions import ConfigurationError

            raise ConfigurationError(
                f"{name} must list origins such as https://app.example (scheme, host and optional port, "
                f"comma-separated) or be {ANY_ORIGIN}, not {raw.strip()!r}."
            )
        found.append(origin)
    return tuple(dict.fromkeys(found))


DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0)


# Between the attempts to register (or remove) a subscription's webhook at the provider: 3 in all.
DEFAULT_SUBSCRIBE_RETRY_DELAYS = (2.0, 10.0)


def _delays(env: Mapping[str, str], name: str, default: tuple[float, ...] = DEFAULT_RETRY_DELAYS) -> tuple[float, ...]:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = ()
    if not delays or any(d < 0 for d in delays):
        from plughub.exceptions import ConfigurationError

        raise ConfigurationError(f"{name} must be seconds separated by commas (e.g. 5,30,120), not {raw!r}.") from None
    return delays


def ensure_home(home: Path) -> Path:
    """Create `PLUGHUB_HOME` if it is missing (mode 0700) and check that plughub can work in it.

    Args:
        home: The directory.

    Returns:
        The same path.

    Raises:
        ConfigurationError: It is a file, cannot be created, or is not writable; the message
            names the path and what to do.
    """
    from plughub.exceptions import ConfigurationError

    fix = "set PLUGHUB_HOME to a directory you can write to (plughub creates it)"
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise ConfigurationError(
            f"PLUGHUB_HOME {home} is a file, not a directory: move the file away or {fix}.",
            details={"path": str(home)},
        ) from None
    except OSError as exc:
        # A parent that is a file, no permission, a read-only file system: the system's words say which.
        raise ConfigurationError(
            f"PLUGHUB_HOME {home} cannot be created ({exc.strerror}): create it yourself or {fix}.",
            details={"path": str(home)},
        ) from None
    if not os.access(home, os.R_OK | os.W_OK | os.X_OK):
        raise ConfigurationError(
            f"PLUGHUB_HOME {home} is not writable by this user: fix its permissions (chmod u+rwx {home}) or {fix}.",
            details={"path": str(home)},
        )
    for name, mode, needs in (
        ("plughub.db", os.R_OK | os.W_OK, "readable and writable"),
        ("master.key", os.R_OK, "readable"),
    ):
        # Files an earlier run (or another user) left behind that this user cannot use.
        path = home / name
        if path.exists() and not os.access(path, mode):
            raise ConfigurationError(
                f"{path} is not {needs} by this user: fix its owner or mode, or {fix}.",
                details={"path": str(path)},
            )
    return home


@dataclass(frozen=True)
class Settings:
    """plughub's configuration.

    Attributes:
        home: `PLUGHUB_HOME`, where the embedded engine keeps its database and key file
            (default `~/.plughub`).
        secret_key: `PLUGHUB_SECRET_KEY`, the master key (base64url of 32 bytes); when unset the
            key file `<home>/master.key` is used, created on first use with mode 0600.
        catalog_path: `PLUGHUB_CATALOG_PATH`, extra directories of definition files.
        url: `PLUGHUB_URL`, a plughub server; when set the SDK talks to it.
        api_key: `PLUGHUB_API_KEY`, the key for that server.
        callback_url: `PLUGHUB_CALLBACK_URL`, the OAuth redirect URI.
        connect_timeout: `PLUGHUB_CONNECT_TIMEOUT`, seconds to open an upstream connection.
        read_timeout: `PLUGHUB_READ_TIMEOUT`, seconds to wait for upstream data.
        retry_attempts: `PLUGHUB_RETRY_ATTEMPTS`, attempts for idempotent requests (default 3).
        retry_max_wait: `PLUGHUB_RETRY_MAX_WAIT`, the longest wait between attempts, in seconds;
            a longer `Retry-After` ends the retries.
        database_url: `PLUGHUB_DATABASE_URL`, the server's database (SQLite under `home` when unset).
        public_url: `PLUGHUB_PUBLIC_URL`, where people reach the server (connect pages); the origin
            of the callback URL when unset.
        allow_private_networks: `PLUGHUB_ALLOW_PRIVATE_NETWORKS`, networks and hosts the server may
            call although they are private or loopback (comma-separated; `*` for all).
        max_body_bytes: `PLUGHUB_MAX_BODY_BYTES`, the largest request body the server accepts.
        aixplain_compat: `PLUGHUB_AIXPLAIN_COMPAT`, serve the aiXplain SDK's wire protocol
            (`/sdk/models/...`, `/v2/...`, `/api/v1|v2/execute/...`, `/api/v1/data/...`) beside `/v1`;
            on unless set to `0`, `false`, `no` or `off`.
        aixplain_sync_wait: `PLUGHUB_AIXPLAIN_SYNC_WAIT`, seconds an action run posted to
            `/api/v2/execute/{id}` is waited for before it is answered asynchronously (a poll URL);
            runs posted to `/api/v1/execute/{id}` (the SDK's `run_async`) are always asynchronous.
        cache_ttl: `PLUGHUB_CACHE_TTL`, seconds the rows each run reads (the connection and its
            sealed credentials) are kept in memory; a write by this process empties the
            cache at once, another process's write is seen within this time. `0` turns it off.
        mcp_allowed_origins: `PLUGHUB_MCP_ALLOWED_ORIGINS`, the web origins (`https://app.example`,
            comma-separated; `*` for any) whose pages may use `/mcp` besides the server's own; requests
            without an `Origin` header (clients that are not browsers) are not concerned.
        metrics_token: `PLUGHUB_METRICS_TOKEN`, the bearer token `/metrics` wants; when unset,
            `/metrics` answers loopback clients only.
        delivery_retry_delays: `PLUGHUB_DELIVERY_RETRY_DELAYS`, seconds between the attempts to
            push an event to a subscription's target (comma-separated; default
            5,30,120,600,1800,3600,7200,14400); after the last the delivery is `failed`.
        delivery_timeout: `PLUGHUB_DELIVERY_TIMEOUT`, seconds one attempt to push an event may
            take (connect and answer; default 10); a delivery whose process died is taken up
            again after three times that.
        subscribe_retry_delays: `PLUGHUB_SUBSCRIBE_RETRY_DELAYS`, seconds between the attempts of
            a subscribe or unsubscribe job (default 2,10: three attempts); after the last a
            subscription is `failed`, or removed without its provider's webhook.
        poll_min_interval: `PLUGHUB_POLL_MIN_INTERVAL`, the shortest interval between two polls of
            a poll trigger, in seconds (default 60).
    """

    home: Path = field(default_factory=lambda: Path("~/.plughub").expanduser())
    secret_key: str | None = field(default=None, repr=False)
    catalog_path: tuple[Path, ...] = ()
    url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    callback_url: str = DEFAULT_CALLBACK_URL
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry_attempts: int = 3
    retry_max_wait: float = 10.0
    database_url: str | None = field(default=None, repr=False)
    public_url: str | None = None
    allow_private_networks: str | None = None
    max_body_bytes: int = 1_048_576
    aixplain_compat: bool = True
    aixplain_sync_wait: float = 10.0
    cache_ttl: float = 1.0
    mcp_allowed_origins: tuple[str, ...] = ()
    metrics_token: str | None = field(default=None, repr=False)
    delivery_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_timeout: float = 10.0
    subscribe_retry_delays: tuple[float, ...] = DEFAULT_SUBSCRIBE_RETRY_DELAYS
    poll_min_interval: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables.

        Args:
            env: The variables to read; `os.environ` by default.

        Returns:
            The settings.

        Raises:
            ConfigurationError: A variable holds a value of the wrong kind.
        """
        env = os.environ if env is None else env
        home = Path(env.get("PLUGHUB_HOME") or "~/.plughub").expanduser()
        catalog = tuple(Path(p).expanduser() for p in env.get("PLUGHUB_CATALOG_PATH", "").split(os.pathsep) if p)
        return cls(
            home=home,
            secret_key=env.get("PLUGHUB_SECRET_KEY") or None,
            catalog_path=catalog,
            url=env.get("PLUGHUB_URL") or None,
            api_key=env.get("PLUGHUB_API_KEY") or None,
            callback_url=env.get("PLUGHUB_CALLBACK_URL") or DEFAULT_CALLBACK_URL,
            connect_timeout=_float(env, "PLUGHUB_CONNECT_TIMEOUT", 5.0),
            read_timeout=_float(env, "PLUGHUB_READ_TIMEOUT", 30.0),
            retry_attempts=int(_float(env, "PLUGHUB_RETRY_ATTEMPTS", 3)),
            retry_max_wait=_float(env, "PLUGHUB_RETRY_MAX_WAIT", 10.0),
            database_url=env.get("PLUGHUB_DATABASE_URL") or None,
            public_url=(env.get("PLUGHUB_PUBLIC_URL") or "").rstrip("/") or None,
            allow_private_networks=env.get("PLUGHUB_ALLOW_PRIVATE_NETWORKS") or None,
            max_body_bytes=int(_float(env, "PLUGHUB_MAX_BODY_BYTES", 1_048_576)),
            aixplain_compat=_switch(env, "PLUGHUB_AIXPLAIN_COMPAT", True),
            aixplain_sync_wait=_float(env, "PLUGHUB_AIXPLAIN_SYNC_WAIT", 10.0),
            cache_ttl=_float(env, "PLUGHUB_CACHE_TTL", 1.0),
            mcp_allowed_origins=_origins(env, "PLUGHUB_MCP_ALLOWED_ORIGINS"),
            metrics_token=env.get("PLUGHUB_METRICS_TOKEN") or None,
            delivery_retry_delays=_delays(env, "PLUGHUB_DELIVERY_RETRY_DELAYS"),
            delivery_timeout=_positive(env, "PLUGHUB_DELIVERY_TIMEOUT", 10.0),
            subscribe_retry_delays=_delays(env, "PLUGHUB_SUBSCRIBE_RETRY_DELAYS", DEFAULT_SUBSCRIBE_RETRY_DELAYS),
            poll_min_interval=_float(env, "PLUGHUB_POLL_MIN_INTERVAL", 60.0),
        )

    @property
    def base_url(self) -> str:
        """Where people reach the server: `public_url`, else the callback URL's origin."""
        if self.public_url:
            return self.public_url
        scheme, _, rest = self.callback_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"
