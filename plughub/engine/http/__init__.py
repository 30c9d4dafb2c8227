"""HTTP out of the engine: render a request, send it (retries, redirects), the client, the network guard.

The modules are imported by name: `aio` loads aiohttp, which only `plughub serve` needs.
"""

from __future__ import annotations

__all__: list[str] = []
