"""The sandbox API used by `plughub demo` and by the tests as a real upstream."""

from __future__ import annotations

from plughub.sandbox.consent import give_consent
from plughub.sandbox.server import ReceivedRequest, SandboxCredentials, SandboxServer

__all__ = ["ReceivedRequest", "SandboxCredentials", "SandboxServer", "give_consent"]
