"""A provider double: a real HTTP server on 127.0.0.1 with the provider's webhook-registration API.

It records every API call, keeps the webhooks registered through it (GitHub's repository hooks
API, Stripe's webhook_endpoints, GitLab's project hooks, Shopify's webhooks, Typeform's form
webhooks, Twilio's phone-number SmsUrl), and delivers events to them signed as the provider
signs (`tests.providers.deliveries`). `deliver_to` sends one delivery to any URL with any secret
(for providers whose webhooks are registered by hand).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.providers.deliveries import BUILDERS, Delivery


@dataclass
class Call:
    """An API call the double received."""

    method: str
    path: str
    body: Any


@dataclass
class Hook:
    """A webhook registered at the double: where to post, with which secret, for which events."""

    id: str
    url: str
    secret: str
    events: list[str] = field(default_factory=list)


Answer = tuple[int, Any]


class ProviderDouble:
    """One provider's API and deliveries; `url` is its API base (give it as the connection's base_url)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.calls: list[Call] = []
        self.hooks: dict[str, Hook] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        routes: dict[str, list[tuple[str, re.Pattern[str], Callable[..., Answer]]]] = {
            "github": [
                ("POST", re.compile(r"/repos/([^/]+)/([^/]+)/hooks"), self._github_create),
                ("DELETE", re.compile(r"/repos/([^/]+)/([^/]+)/hooks/(\d+)"), self._delete),
            ],
            "stripe": [
                ("POST", re.compile(r"/v1/webhook_endpoints"), self._stripe_create),
                ("DELETE", re.compile(r"/v1/webhook_endpoints/(we_\w+)"), self._delete),
            ],
            "gitlab": [
                ("POST", re.compile(r"/projects/([^/]+)/hooks"), self._gitlab_create),
                ("DELETE", re.compile(r"/projects/([^/]+)/hooks/(\d+)"), self._delete),
            ],
            "shopify": [
                ("POST", re.compile(r"/webhooks\.json"), self._shopify_create),
                ("DELETE", re.compile(r"/webhooks/(\d+)\.json"), self._delete),
            ],
            "typeform": [
                ("PUT", re.compile(r"/forms/([^/]+)/webhooks/([^/]+)"), self._typeform_put),
                ("DELETE", re.compile(r"/forms/([^/]+)/webhooks/([^/]+)"), self._delete),
            ],
            "twilio": [("POST", re.compile(r"/IncomingPhoneNumbers/(PN\w+)\.json"), self._twilio_update)],
        }
        self._routes = routes.get(provider, [])
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()

    # --- deliveries ---------------------------------------------------------------------------

    def build(self, event: str, payload: dict[str, Any], *, url: str, secret: str, now: int | None = None) -> Delivery:
        """Build and sign one delivery as the provider does."""
        return BUILDERS[self.provider](event, dict(payload), secret, url, int(time.time()) if now is None else now)

    def deliver_to(self, url: str, secret: str, event: str, payload: dict[str, Any]) -> Delivery:
        """Sign one delivery for `url` and POST it there."""
        delivery = self.build(event, payload, url=url, secret=secret)
        httpx.post(url, content=delivery.body, headers=delivery.headers, timeout=10).raise_for_status()
        return delivery

    def deliver(self, event: str, payload: dict[str, Any]) -> list[Delivery]:
        """POST an event to every registered webhook that takes it, each signed with its own secret."""
        with self._lock:
            hooks = [h for h in self.hooks.values() if not h.events or event in h.events or "*" in h.events]
        return [self.deliver_to(hook.url, hook.secret, event, payload) for hook in hooks]

    # --- the registration API -----------------------------------------------------------------

    def _add(self, url: str, secret: str, events: list[str], hook_id: str | None = None) -> Hook:
        with self._lock:
            hook = Hook(hook_id or str(next(self._ids)), url, secret, events)
            self.hooks[hook.id] = hook
        return hook

    def _delete(self, body: Any, *groups: str) -> Answer:
        with self._lock:
            removed = self.hooks.pop(groups[-1], None)
        if removed is None:
            return 404, {"message": "Not Found"}
        return (200, {"id": groups[-1], "deleted": True}) if self.provider == "stripe" else (204, None)

    def _github_create(self, body: Any, owner: str, repo: str) -> Answer:
        config = body.get("config") or {}
        if body.get("name", "web") != "web" or not config.get("url"):
            return 422, {"message": "Validation Failed"}
        hook = self._add(config["url"], config.get("secret", ""), body.get("events") or ["push"])
        answer = {"type": "Repository", "id": int(hook.id), "name": "web", "active": body.get("active", True)}
        config_shown = {k: v for k, v in config.items() if k != "secret"} | {"secret": "********"}
        return 201, answer | {"events": hook.events, "config": config_shown}

    def _stripe_create(self, body: Any) -> Answer:
        if not body.get("url") or not body.get("enabled_events[]"):
            return 400, {"error": {"type": "invalid_request_error", "message": "Missing required param: url."}}
        secret = "whsec_" + secrets.token_urlsafe(24)
        hook = self._add(body["url"][0], secret, body["enabled_events[]"], hook_id="we_" + secrets.token_hex(12))
        return 200, {
            "id": hook.id,
            "object": "webhook_endpoint",
            "url": hook.url,
            "secret": secret,
            "status": "enabled",
        }

    def _gitlab_create(self, body: Any, project: str) -> Answer:
        kinds = {
            "push_events": "Push Hook",
            "issues_events": "Issue Hook",
            "merge_requests_events": "Merge Request Hook",
        }
        events = [kind for key, kind in kinds.items() if body.get(key, key == "push_events")]
        hook = self._add(body["url"], body.get("token", ""), events)
        return 201, {"id": int(hook.id), "url": hook.url, "project_id": project}

    def _shopify_create(self, body: Any) -> Answer:
        webhook = body.get("webhook") or {}
        hook = self._add(webhook.get("address", ""), "", [webhook.get("topic", "")])
        return 201, {"webhook": {"id": int(hook.id), "address": hook.url, "topic": webhook.get("topic")}}

    def _typeform_put(self, body: Any, form: str, tag: str) -> Answer:
        hook = self._add(body["url"], body.get("secret", ""), ["form_response"], hook_id=tag)
        return 200, {"id": base64.b32encode(tag.encode()).decode(), "form_id": form, "tag": hook.id, "url": hook.url}

    def _twilio_update(self, body: Any, sid: str) -> Answer:
        url = body.get("SmsUrl", [""])[0]
        if url:
            self._add(url, "", [], hook_id=sid)
        else:
            with self._lock:
                self.hooks.pop(sid, None)
        return 200, {"sid": sid, "sms_url": url, "sms_method": body.get("SmsMethod", ["POST"])[0]}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
                body = parse_qs(raw.decode(), keep_blank_values=True) if form else json.loads(raw or b"{}")
                path = urlsplit(self.path).path
                double.calls.append(Call(self.command, path, body))
                status, answer = 404, {"message": "Not Found"}
                for method, pattern, handle in double._routes:
                    match = pattern.search(path)
                    if method == self.command and match and path.endswith(match.group(0)):
                        status, answer = handle(body, *match.groups())
                        break
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        return _H
