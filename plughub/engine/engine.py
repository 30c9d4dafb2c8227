"""The engine facade: catalog, store, vault and executor behind one set of calls.

Both backends end here: the embedded backend calls it in process, the server over HTTP.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from plughub.config import Settings
from plughub.engine.auth import auth_for
from plughub.engine.catalog import Catalog, describe_action, parse_definition
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec
from plughub.engine.connect import split_connect_data
from plughub.engine.executor import Executor, RetryPolicy
from plughub.engine.keyring import load_master_key, open_vault, rotate_data_key
from plughub.engine.redact import Redactor, mask
from plughub.engine.request import build_request
from plughub.engine.store import ConnectionRecord, StaleKeyError, Store, open_database, sqlite_url
from plughub.engine.validation import InputValidator
from plughub.engine.vault import KeyNotInRing, Vault
from plughub.enums import AuthenticationSchema, ConnectionStatus
from plughub.exceptions import (
    ActionNotFound,
    CatalogError,
    ConfigurationError,
    ConflictError,
    ConnectionNotFound,
    ConnectionStateError,
    InvalidInput,
)
from plughub.schemas import (
    ActionInfo,
    ActionResult,
    ConnectionInfo,
    ConnectRequest,
    ConnectResult,
    IntegrationInfo,
    Page,
)

__all__ = ["Engine"]

logger = logging.getLogger("plughub.engine")
_STATIC = (
    AuthenticationSchema.API_KEY,
    AuthenticationSchema.BEARER_TOKEN,
    AuthenticationSchema.BASIC,
    AuthenticationSchema.NO_AUTH,
)


def _page(items: list[Any], total: int, page_number: int, page_size: int) -> Page[Any]:
    return Page(
        results=items, total=total, page_number=page_number, page_total=math.ceil(total / page_size) if page_size else 0
    )


def _check_paging(page_number: int, page_size: int) -> None:
    if page_number < 0 or not 1 <= page_size <= 1000:
        raise InvalidInput("page_number must be >= 0 and page_size between 1 and 1000")


class Engine:
    """plughub's engine.

    Args:
        settings: The configuration; read from the environment when omitted.
        database_url: A SQLAlchemy URL; the SQLite file under `PLUGHUB_HOME` by default.
        transport: An httpx transport for upstream calls (tests); the network by default.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        database_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        self.store = Store(open_database(database_url or sqlite_url(self.settings.home)))
        self.catalog = Catalog(self.settings.catalog_path)
        for integration_id, definition in self.store.list_integrations():
            self.catalog.add(parse_definition(definition, source=f"stored integration '{integration_id}'"))
        self.executor = Executor(
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            retry=RetryPolicy(attempts=max(1, self.settings.retry_attempts), max_wait=self.settings.retry_max_wait),
            transport=transport,
        )
        self.validator = InputValidator()
        self._vault: Vault | None = None
        self._master: bytes | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Engine(home={str(self.settings.home)!r}, integrations={len(self.catalog)})"

    def close(self) -> None:
        """Release the database and the HTTP pool."""
        self.executor.close()
        self.store.close()

    @property
    def vault(self) -> Vault:
        """The vault, opened on first use so that catalog commands need no key."""
        if self._vault is None:
            with self._lock:
                if self._vault is None:
                    master = load_master_key(
                        self.settings.home, self.settings.secret_key, store_has_keys=bool(self.store.vault_keys())
                    )
                    self._vault = open_vault(self.store, master)
                    self._master = master
        return self._vault

    def _reload_vault(self) -> Vault:
        with self._lock:
            assert self._master is not None  # noqa: S101 - the vault was opened before
            self._vault = open_vault(self.store, self._master)
            return self._vault

    def _with_fresh_vault(self, write: Callable[[Vault], None]) -> None:
        """Seal and store; if another process rotated the keys meanwhile, reload and seal again."""
        try:
            write(self.vault)
        except StaleKeyError:
            write(self._reload_vault())

    def _open(self, record_id: str, blob: bytes) -> dict[str, Any]:
        """Open a record; a key unknown to this process means a rotation elsewhere: reload once."""
        try:
            return self.vault.open(record_id, blob)
        except KeyNotInRing:
            return self._reload_vault().open(record_id, blob)

    # Integrations

    def list_integrations(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20
    ) -> Page[IntegrationInfo]:
        """Search the catalog.

        Args:
            query: Words to look for; None lists all.
            page_number: 0-based page.
            page_size: Results per page.

        Returns:
            One page of integrations.
        """
        _check_paging(page_number, page_size)
        found = self.catalog.search(query)
        start = page_number * page_size
        return _page(found[start : start + page_size], len(found), page_number, page_size)

    def get_integration(self, id_or_name: str) -> IntegrationInfo:
        """Find an integration by id or display name.

        Args:
            id_or_name: `github` or `GitHub`.

        Returns:
            The integration.

        Raises:
            IntegrationNotFound: Nothing matches.
        """
        return self.catalog.info(self.catalog.find(id_or_name).id)

    def create_integration(self, definition: Mapping[str, Any] | str | Path) -> IntegrationInfo:
        """Validate, register and persist a user-defined integration.

        Args:
            definition: A mapping, or the path of a YAML or JSON definition file.

        Returns:
            The registered integration.

        Raises:
            CatalogError: The definition is broken (the source and the key are named).
            ConflictError: The id belongs to a bundled or catalog-path integration.
        """
        data, source = self._read_definition(definition)
        spec = parse_definition(data, source=source)
        if spec.id in self.catalog and self.catalog.info(spec.id).source != "user":
            raise ConflictError(
                f"integration '{spec.id}' already exists ({self.catalog.info(spec.id).source}); choose another id"
            )
        self.store.put_integration(spec.id, _jsonable(data))
        self.catalog.add(spec, source="user")
        return self.catalog.info(spec.id)

    @staticmethod
    def _read_definition(definition: Mapping[str, Any] | str | Path) -> tuple[Any, str]:
        if isinstance(definition, Mapping):
            return dict(definition), "<definition>"
        path = Path(definition)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"{path}: cannot read the file ({exc.strerror})") from None
        try:
            return yaml.safe_load(text), str(path)
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML: {exc}") from None

    # Connections

    def create_connection(self, request: ConnectRequest) -> ConnectResult:
        """Connect to an integration: validate, seal the credentials, store the connection.

        Args:
            request: The integration, scheme, name and connect data.

        Returns:
            The new connection's id and status.

        Raises:
            IntegrationNotFound: Unknown integration.
            UnsupportedScheme: The integration does not support the scheme.
            MissingInputs: Required inputs are missing.
            UnknownInputs: Inputs the scheme does not take.
            InvalidInput: A value is malformed.
        """
        spec = self.catalog.spec(request.integration_id)
        inputs = split_connect_data(spec, request.scheme, request.data)
        if request.scheme not in _STATIC:
            raise ConfigurationError(
                f"{request.scheme.value} connections are not available in this version of plughub yet; "
                f"connect {spec.display_name} with one of: "
                + ", ".join(a.mode for a in spec.auth if a.scheme in _STATIC)
            )
        connection_id = secrets.token_hex(12)
        record = ConnectionRecord(
            id=connection_id,
            integration_id=spec.id,
            name=request.name or spec.display_name,
            description=request.description or "",
            scheme=request.scheme.value,
            status=ConnectionStatus.ACTIVE.value,
            config=inputs.config,
            base_url=inputs.base_url,
        )
        if inputs.credentials:
            self._with_fresh_vault(
                lambda vault: self.store.insert_connection(
                    record, (vault.active, vault.seal(connection_id, inputs.credentials))
                )
            )
        else:
            self.store.insert_connection(record, None)
        logger.info("connected %s with %s as %s", spec.id, request.scheme.value, connection_id)
        return ConnectResult(id=connection_id, status=ConnectionStatus.ACTIVE)

    def get_connection(self, connection_id: str) -> ConnectionInfo:
        """Describe a connection, secrets masked.

        Args:
            connection_id: Its id.

        Returns:
            The connection.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        return self._describe(self._record(connection_id), with_credentials=True)

    def list_connections(
        self, query: str | None = None, page_number: int = 0, page_size: int = 20, integration_id: str | None = None
    ) -> Page[ConnectionInfo]:
        """List connections, newest first.

        Args:
            query: Text to find in the name, description or integration id.
            page_number: 0-based page.
            page_size: Results per page.
            integration_id: Only this integration's connections.

        Returns:
            One page of connections (credentials not included).
        """
        _check_paging(page_number, page_size)
        records, total = self.store.list_connections(
            query=query, integration_id=integration_id, offset=page_number * page_size, limit=page_size
        )
        return _page([self._describe(r, with_credentials=False) for r in records], total, page_number, page_size)

    def delete_connection(self, connection_id: str) -> None:
        """Delete a connection and its credentials.

        Args:
            connection_id: Its id.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        if not self.store.delete_connection(connection_id):
            raise self._not_found(connection_id)

    def _record(self, connection_id: str) -> ConnectionRecord:
        record = self.store.get_connection(connection_id)
        if record is None:
            raise self._not_found(connection_id)
        return record

    @staticmethod
    def _not_found(connection_id: str) -> ConnectionNotFound:
        return ConnectionNotFound(
            f"No connection with id '{connection_id}'. List them with "
            "ModelFactory.list(function_type=FunctionType.CONNECTION) or `plughub connections list`."
        )

    def _describe(self, record: ConnectionRecord, *, with_credentials: bool) -> ConnectionInfo:
        name = record.integration_id
        masked: dict[str, str] = {}
        if record.integration_id in self.catalog:
            spec = self.catalog.spec(record.integration_id)
            name = spec.display_name
            auth = spec.auth_for(AuthenticationSchema(record.scheme))
            if with_credentials and auth is not None:
                blob = self.store.get_credentials(record.id)
                opened = self._open(record.id, blob) if blob else {}
                fields = auth.credential_fields()
                for key, value in opened.items():
                    field = fields.get(key)
                    shown = field is not None and field.secret is False
                    masked[key] = str(value) if shown else mask(value)
        return ConnectionInfo(
            id=record.id,
            integration_id=record.integration_id,
            integration_name=name,
            name=record.name,
            description=record.description,
            scheme=AuthenticationSchema(record.scheme),
            status=ConnectionStatus(record.status),
            config=record.config,
            credentials=masked,
            base_url=record.base_url,
            error=record.error,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    # Actions

    def list_actions(self, connection_id: str) -> list[ActionInfo]:
        """List a connection's actions with their inputs.

        Args:
            connection_id: The connection.

        Returns:
            The actions, in the definition's order.

        Raises:
            ConnectionNotFound: No connection has this id.
        """
        spec = self.catalog.spec(self._record(connection_id).integration_id)
        return [describe_action(code, action) for code, action in spec.actions.items()]

    def get_action(self, connection_id: str, action: str) -> ActionInfo:
        """Describe one action of a connection.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).

        Returns:
            The action.

        Raises:
            ConnectionNotFound: No connection has this id.
            ActionNotFound: The integration has no such action.
        """
        spec = self.catalog.spec(self._record(connection_id).integration_id)
        code, found = self._action(spec, action)
        return describe_action(code, found)

    @staticmethod
    def _action(spec: IntegrationSpec, action: str) -> tuple[str, ActionSpec]:
        for code in (action, spec.action_prefix + action, action.upper()):
            if code in spec.actions:
                return code, spec.actions[code]
        codes = list(spec.actions)
        shown = ", ".join(codes[:12]) + (f", ... ({len(codes)} in all)" if len(codes) > 12 else "")
        raise ActionNotFound(
            f"{spec.display_name} has no action '{action}'. Its actions: {shown}.", details={"actions": codes}
        )

    def run_action(self, connection_id: str, action: str, inputs: Mapping[str, Any] | None = None) -> ActionResult:
        """Run an action of a connection against the real service.

        Args:
            connection_id: The connection.
            action: The action code (the integration prefix may be left out).
            inputs: The action's inputs.

        Returns:
            SUCCESS with the service's answer, or FAILED with its status and a sanitised excerpt.

        Raises:
            ConnectionNotFound: No connection has this id.
            ConnectionStateError: The connection is not active.
            ActionNotFound: The integration has no such action.
            InvalidInput: The inputs break the action's schema (nothing is sent).
        """
        record = self._record(connection_id)
        if record.status != ConnectionStatus.ACTIVE.value:
            raise ConnectionStateError(
                f"connection {record.id} is {record.status}"
                + (f" ({record.error})" if record.error else "")
                + "; it must be active to run actions."
            )
        spec = self.catalog.spec(record.integration_id)
        code, found = self._action(spec, action)
        inputs = dict(inputs or {})
        self.validator.validate(code, found, inputs)
        blob = self.store.get_credentials(record.id)
        credentials = self._open(record.id, blob) if blob else {}
        scheme = AuthenticationSchema(record.scheme)
        auth = auth_for(spec, scheme, credentials, record.config)
        auth_spec = spec.auth_for(scheme)
        fields = auth_spec.credential_fields() if auth_spec else {}
        # Non-secret credential fields (a username, an account id) may legitimately come back.
        secrets_ = [v for k, v in credentials.items() if k not in fields or fields[k].secret is not False]
        secrets_ += auth.secret_values if auth else []
        request = build_request(spec, found, inputs, record.config, base_url=record.base_url)
        return self.executor.send(f"{spec.display_name} {code}", request, auth, Redactor(secrets_))

    # Keys

    def rotate_keys(self) -> int:
        """Re-encrypt every stored secret under a new data key, in one transaction.

        Returns:
            How many records were re-encrypted.
        """
        vault = self.vault
        assert self._master is not None  # noqa: S101 - set by the vault property above
        with self._lock:
            self._vault, count = rotate_data_key(self.store, self._master, vault)
        logger.info("rotated the data key: %d records re-encrypted under %s", count, self._vault.active)
        return count


def _jsonable(data: Any) -> Any:
    import json

    return json.loads(json.dumps(data, default=str))
