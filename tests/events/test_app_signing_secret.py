"""Slack's signing secret set with the OAuth app through REST and through the CLI, then used to verify.

Slack signs its Events API requests with the app's signing secret (`${app.signing_secret}` in
slack.yaml). Set through `PUT /v1/integrations/slack/oauth-app` on a live server, or through
`plughub oauth-app set slack --signing-secret` (prompted without echo), it verifies the Slack
double's url_verification challenge and messages; a request signed with another secret is 401.
It is sealed at rest and shown back masked only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from plughub.cli import cli
from plughub.engine import Engine
from plughub.schemas import ConnectRequest, SubscribeRequest
from tests.providers.double import ProviderDouble
from tests.server.conftest import Hub
from tests.server.conftest import hub as hub  # the fixtures
from tests.server.conftest import make_hub as make_hub

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SET_APP = ["oauth-app", "set", "slack", "--client-id", "123.456", "--client-secret", "slack-client-secret-0001"]
MESSAGE = {"channel": "C0123", "user": "U1", "text": "hello", "ts": "1.2"}


@pytest.fixture
def slack() -> Iterator[ProviderDouble]:
    double = ProviderDouble("slack")
    yield double
    double.close()


def test_the_signing_secret_set_through_rest_verifies_slack(hub: Hub, slack: ProviderDouble) -> None:
    client = hub.team("acme").client
    app = {"client_id": "123.456", "client_secret": "slack-client-secret-0001", "signing_secret": SIGNING_SECRET}
    stored = client.put("/v1/integrations/slack/oauth-app", json=app)
    assert stored.status_code == 200, stored.text
    assert stored.json()["signing_secret"] == "***" + SIGNING_SECRET[-4:] and SIGNING_SECRET not in stored.text
    shown = client.get("/v1/integrations/slack/oauth-app")
    assert shown.json()["signing_secret"] == "***" + SIGNING_SECRET[-4:] and SIGNING_SECRET not in shown.text
    body = {"integration_id": "slack", "scheme": "BEARER_TOKEN", "data": {"token": "xoxb-1", "base_url": slack.url}}
    conn = client.post("/v1/connections", json=body).json()["id"]
    sub = client.post(
        f"/v1/connections/{conn}/subscriptions",
        json={"trigger": "SLACK_CHANNEL_MESSAGE", "config": {"channel": "C0123"}},
    )
    assert sub.status_code == 201, sub.text
    url = sub.json()["webhook_url"]
    inbound = hub.url + urlsplit(url).path

    challenge = slack.build("url_verification", {"challenge": "3eZbrw1a"}, url=url, secret=SIGNING_SECRET)
    answer = httpx.post(inbound, content=challenge.body, headers=challenge.headers)
    assert (answer.status_code, answer.text) == (200, "3eZbrw1a")
    message = slack.build("message", MESSAGE, url=url, secret=SIGNING_SECRET)
    assert httpx.post(inbound, content=message.body, headers=message.headers).json()["received"] is True
    forged = slack.build("message", MESSAGE, url=url, secret="another-signing-secret-000000000")
    assert httpx.post(inbound, content=forged.body, headers=forged.headers).status_code == 401
    (event,) = client.get(f"/v1/subscriptions/{sub.json()['id']}/events").json()
    assert event["data"]["event"]["text"] == "hello"

    # Set again without it (a new client secret): the signing secret is kept; "" removes it.
    again = dict(app, client_secret="slack-client-secret-0002")
    del again["signing_secret"]
    assert client.put("/v1/integrations/slack/oauth-app", json=again).json()["signing_secret"] is not None
    assert httpx.post(inbound, content=message.body, headers=message.headers).status_code == 200
    cleared = client.put("/v1/integrations/slack/oauth-app", json=dict(again, signing_secret=""))
    assert cleared.json()["signing_secret"] is None
    assert httpx.post(inbound, content=message.body, headers=message.headers).status_code == 401


@pytest.mark.usefixtures("backend")
def test_the_signing_secret_set_through_the_cli_verifies_slack(
    engine: Engine, slack: ProviderDouble, home: Path
) -> None:
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [*SET_APP, "--signing-secret"],  # no value: prompted without echo
        input=SIGNING_SECRET + "\n",
    )
    assert made.exit_code == 0, made.output
    assert SIGNING_SECRET not in made.output
    shown = runner.invoke(cli, ["oauth-app", "show", "slack"])
    assert "***" + SIGNING_SECRET[-4:] in shown.output and SIGNING_SECRET not in shown.output
    assert SIGNING_SECRET.encode() not in b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())

    request = ConnectRequest(
        integration_id="slack", scheme="BEARER_TOKEN", data={"token": "xoxb-1", "base_url": slack.url}
    )
    conn = engine.connections.create(request).id
    sub = engine.events.subscriptions.subscribe(
        conn, SubscribeRequest(trigger="SLACK_CHANNEL_MESSAGE", config={"channel": "C0123"})
    )
    assert sub.webhook_url is not None
    token = sub.webhook_url.rsplit("/", 1)[1]
    challenge = slack.build("url_verification", {"challenge": "3eZbrw1a"}, url=sub.webhook_url, secret=SIGNING_SECRET)
    answer = engine.events.receive(token, challenge.body, challenge.headers)
    assert (answer.status, answer.body) == (200, "3eZbrw1a")
    message = slack.build("message", MESSAGE, url=sub.webhook_url, secret=SIGNING_SECRET)
    assert engine.events.receive(token, message.body, message.headers).body["received"] is True
    forged = slack.build("message", MESSAGE, url=sub.webhook_url, secret="another-signing-secret-000000000")
    assert engine.events.receive(token, forged.body, forged.headers).status == 401


@pytest.mark.usefixtures("any_backend")
def test_the_sdk_sets_the_signing_secret_and_shows_it_masked(engine: Engine) -> None:
    from plughub import IntegrationFactory

    slack_app = IntegrationFactory.get("slack")
    info = slack_app.set_oauth_app("123.456", "slack-client-secret-0001", signing_secret=SIGNING_SECRET)
    assert info.signing_secret == "***" + SIGNING_SECRET[-4:] and info.webhook_secret is None
    assert SIGNING_SECRET not in repr(info) and SIGNING_SECRET not in info.model_dump_json()
    assert slack_app.get_oauth_app().signing_secret == info.signing_secret
    assert engine.oauth_apps.signing_values("slack")["signing_secret"] == SIGNING_SECRET
