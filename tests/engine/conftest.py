"""Fixtures of the engine tests that touch the network: loopback only, and a fake resolver."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest

_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connect to a non-loopback address, and keep proxies from the environment out."""

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0]).split("%")[0]
            if not ipaddress.ip_address(host).is_loopback:
                pytest.fail(f"test tried to connect to {host}")
        _REAL_CONNECT(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


class FakeDNS:
    """Answers for made-up names; literal addresses go to the real (numeric, offline) resolver."""

    def __init__(self) -> None:
        self.names: dict[str, Callable[[], list[str]]] = {}
        self.calls: list[str] = []

    def set(self, name: str, *answers: list[str]) -> None:
        """Answer `name` with answers[0] on the first lookup, answers[1] on the second, ... (last repeats)."""
        queue = list(answers)
        self.names[name] = lambda: queue.pop(0) if len(queue) > 1 else queue[0]

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.calls.append(name)
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            pass
        else:
            return _REAL_GETADDRINFO(host, port, *args, **{**kwargs, "flags": socket.AI_NUMERICHOST})
        if name not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        infos: list[Any] = []
        for address in self.names[name]():
            if ipaddress.ip_address(address).version == 6:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0)))
        return infos


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake
