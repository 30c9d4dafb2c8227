"""Round trip: import a document, call every action through plughub, validate each request.

A real HTTP server on 127.0.0.1 checks every request it receives against the original document
with openapi-core (parameters, bodies, security) and answers `{}`. The inputs come from
hypothesis-jsonschema when it is installed (a few derandomized examples per action), else from
hand-built minimal values. Needs openapi-core (`pip install openapi-core hypothesis-jsonschema`).
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from plughub import AuthenticationSchema, ConnectionTool, IntegrationFactory, ModelFactory, ResponseStatus
from tests.conftest import CANARY_API_KEY, CANARY_TOKEN
from tests.openapi.corpus import CORPUS, document
from tests.openapi.docs import offline
from tests.openapi.samples import hand_built, sendable

openapi_core = pytest.importorskip("openapi_core", reason="openapi-core is not installed (pip install openapi-core)")
werkzeug = pytest.importorskip("werkzeug")

from openapi_core import Config, OpenAPI  # noqa: E402
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from plughub.engine.openapi import import_openapi  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("backend"),
    pytest.mark.skipif(not (CORPUS / "notion-api.json").exists(), reason=f"the OpenAPI corpus is not at {CORPUS}"),
]


# Requests are what is checked; a vendor's slip elsewhere in its document (a string default for an
# integer) should not stop that.
NO_SPEC_CHECK = Config(spec_validator_cls=None)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    error: str | None


@dataclass
class Validator:
    """A WSGI app that validates each request against a document and records the outcome."""

    openapi: Any
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        error: str | None = None
        try:
            self.openapi.validate_request(WerkzeugOpenAPIRequest(request))
        except Exception as exc:  # every validation problem is a finding
            causes = [str(exc)]
            inner: BaseException | None = exc.__cause__
            while inner is not None:
                causes.append(str(inner))
                inner = inner.__cause__
            for schema_error in getattr(exc.__cause__, "schema_errors", []) or []:
                causes.append(str(schema_error.message))
            error = " <- ".join(causes)
        query = {key: request.args.getlist(key) for key in request.args}
        self.seen.append(Seen(request.method, request.path, query, dict(request.headers), error))
        return Response("{}", status=200, content_type="application/json")(environ, start_response)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(app: Validator) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def local_document(doc: dict[str, Any], root: str) -> tuple[dict[str, Any], str]:
    """The document with its servers moved to `root` (same paths), and the first one's new URL."""
    server = doc["servers"][0]
    url = server["url"]
    for name, variable in (server.get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    first = urlsplit(url)
    origin = f"{first.scheme}://{first.netloc}"
    local = copy.deepcopy(doc)
    local["servers"] = [{"url": root + first.path.rstrip("/")}]
    for item in local.get("paths", {}).values():
        for owner in [item, *(op for op in item.values() if isinstance(op, dict))]:
            for server in owner.get("servers") or []:
                if server["url"].startswith(origin):
                    server["url"] = root + server["url"][len(origin) :]
    return local, local["servers"][0]["url"]


def values(action: Any) -> Iterator[dict[str, Any]]:
    """Inputs for an action: hypothesis-jsonschema examples, else one hand-built set."""
    schema = sendable(action)
    try:
        from hypothesis import HealthCheck, given, settings
        from hypothesis_jsonschema import from_schema
    except ImportError:
        yield hand_built(schema)
        return
    found: list[dict[str, Any]] = []
    valid = Draft202012Validator(schema, format_checker=FormatChecker()).is_valid  # hypothesis skips unknown formats

    @settings(max_examples=4, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(schema))
    def collect(example: dict[str, Any]) -> None:
        if valid(example):
            found.append(example)

    collect()
    yield hand_built(schema)
    yield from found


def round_trip(
    serve: Any, name: str, scheme: AuthenticationSchema, data: dict[str, Any], *, skips: int = 0
) -> list[Seen]:
    doc = document(name)
    app = Validator(openapi=None)
    root = serve(app)
    local, base_url = local_document(doc, root)
    app.openapi = OpenAPI.from_dict(local, config=NO_SPEC_CHECK)
    result = import_openapi(doc, base_url=base_url, fetch=offline)
    assert len(result.skipped) == skips, result.skipped
    integration = IntegrationFactory.create(result.definition)
    tool = ModelFactory.get(integration.connect(scheme, data=data).data["id"])
    assert isinstance(tool, ConnectionTool)
    checker = FormatChecker()
    calls = 0
    for code, action in integration_actions(result.definition):
        for inputs in values(action):
            Draft202012Validator(action["_schema"], format_checker=checker).validate(inputs)
            before = len(app.seen)
            response = tool.run(code, inputs)
            assert response.status is ResponseStatus.SUCCESS, (code, inputs, response.error_message)
            assert len(app.seen) == before + 1, code
            seen = app.seen[-1]
            assert seen.error is None, (code, inputs, seen.error)
            calls += 1
    assert calls >= len(result.definition["actions"])
    return app.seen


def integration_actions(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    from plughub.engine.catalog import parse_definition

    spec = parse_definition(definition)
    for code, action in spec.actions.items():
        yield code, {"_schema": action.input_schema, "inputs": definition["actions"][code].get("inputs", {})}


def test_petstore_expanded_every_request_validates(serve: Any) -> None:
    seen = round_trip(serve, "oai-petstore-expanded.yaml", AuthenticationSchema.NO_AUTH, {})
    assert {(s.method, s.path.split("/")[2]) for s in seen} == {("GET", "pets"), ("POST", "pets"), ("DELETE", "pets")}
    assert all("Authorization" not in s.headers for s in seen)


def test_notion_every_request_validates_and_carries_the_bearer_token(serve: Any) -> None:
    seen = round_trip(serve, "notion-api.json", AuthenticationSchema.BEARER_TOKEN, {"token": CANARY_TOKEN})
    assert len({(s.method, s.path) for s in seen}) >= 20
    assert all(s.headers.get("Authorization") == f"Bearer {CANARY_TOKEN}" for s in seen)


def test_notion_with_basic_auth_puts_credentials_in_the_authorization_header(serve: Any) -> None:
    doc = document("notion-api.json")
    app = Validator(openapi=None)
    local, base_url = local_document(doc, serve(app))
    app.openapi = OpenAPI.from_dict(local, config=NO_SPEC_CHECK)
    result = import_openapi(doc, base_url=base_url, include=["/v1/users"], fetch=offline)
    integration = IntegrationFactory.create(result.definition)
    data = {"username": "client-id", "password": CANARY_TOKEN}
    tool = ModelFactory.get(integration.connect(AuthenticationSchema.BASIC, data=data).data["id"])
    assert isinstance(tool, ConnectionTool)
    response = tool.run("NOTION_API_GET_SELF", {})
    assert response.status is ResponseStatus.SUCCESS, response.error_message
    expected = "Basic " + base64.b64encode(f"client-id:{CANARY_TOKEN}".encode()).decode()
    assert app.seen[-1].headers["Authorization"] == expected
    assert app.seen[-1].error is None


@pytest.mark.parametrize(
    ("name", "scheme", "data"),
    [
        ("oai-uspto.yaml", AuthenticationSchema.NO_AUTH, {}),  # a form body, a server variable
        ("pagerduty-events-v2.json", AuthenticationSchema.NO_AUTH, {}),
        ("nytimes-article-search.yaml", AuthenticationSchema.API_KEY, {"api_key": CANARY_API_KEY}),  # query key
    ],
)
def test_more_documents_every_request_validates(
    serve: Any, name: str, scheme: AuthenticationSchema, data: dict[str, Any]
) -> None:
    seen = round_trip(serve, name, scheme, data)
    if scheme is AuthenticationSchema.API_KEY:
        assert all(s.query.get("api-key") == [CANARY_API_KEY] for s in seen)
    else:
        assert all("Authorization" not in s.headers for s in seen)
