"""The proxy: a caller's own request to a connection's service, with the connection's credentials."""

from __future__ import annotations

from plughub.engine.proxy.service import PROXY_ACTION, ProxyService

__all__ = ["PROXY_ACTION", "ProxyService"]
