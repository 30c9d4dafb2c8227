"""B1: embedded action overhead, `conn.run(action, inputs)` against a hand-written httpx call.

Both send `GET /items/42?verbose=true` with `Authorization: Bearer <token>` to bench.upstream and
parse the JSON answer, one call at a time. The variants alternate in rounds (so a burst of load
from elsewhere hits them alike); each round gives a median and a p99 per call, and the figures
are medians over the rounds. `engine.actions.run` (the SDK layer left out) shows where the
overhead sits.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import GET_INPUTS, GET_ITEM, TOKEN, Result, definition, percentile
from bench.upstream import Upstream

NAME = "overhead"


def _samples(fn: Callable[[], object], calls: int) -> list[float]:
    out = []
    clock = time.perf_counter
    for _ in range(calls):
        started = clock()
        fn()
        out.append((clock() - started) * 1e6)
    return out


def setup(home: Path, port: int):  # type: ignore[no-untyped-def]
    """An embedded backend on `home`, the bench integration and a BEARER_TOKEN connection: (backend, tool)."""
    from plughub import AuthenticationSchema, IntegrationFactory, ModelFactory
    from plughub.backends import EmbeddedBackend, set_backend
    from plughub.config import Settings

    backend = EmbeddedBackend(settings=Settings(home=home))
    set_backend(backend)
    integration = IntegrationFactory.create(definition(port))
    response = integration.connect(AuthenticationSchema.BEARER_TOKEN, data={"token": TOKEN}, name="bench")
    return backend, ModelFactory.get(response.data["id"])


def run(quick: bool) -> Result:
    from plughub.backends import reset_backend
    from plughub.enums import ResponseStatus

    result = Result("B1 embedded action overhead", command="python -m bench overhead")
    rounds, calls = (1, 100) if quick else (7, 1000)
    with tempfile.TemporaryDirectory() as tmp, Upstream(TOKEN) as upstream:
        backend, tool = setup(Path(tmp), upstream.port)
        engine = backend.engine
        client = httpx.Client(timeout=30)
        url = f"{upstream.url}/items/42"
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def by_hand() -> object:
            answer = client.get(url, params={"verbose": "true"}, headers=auth)
            answer.raise_for_status()
            return answer.json()

        def sdk() -> object:
            response = tool.run(GET_ITEM, GET_INPUTS)
            if response.status != ResponseStatus.SUCCESS:
                raise RuntimeError(response.error_message)
            return response.data

        def engine_only() -> object:
            return engine.actions.run(tool.id, GET_ITEM, GET_INPUTS).data

        variants = {"httpx.Client by hand": by_hand, "conn.run (SDK)": sdk, "engine.actions.run": engine_only}
        if sdk() != by_hand():
            raise RuntimeError("plughub and the hand-written call got different answers")
        before = upstream.stats()
        medians: dict[str, list[float]] = {name: [] for name in variants}
        p99s: dict[str, list[float]] = {name: [] for name in variants}
        for index in range(rounds):
            order = list(variants) if index % 2 == 0 else list(reversed(variants))
            for name in order:
                _samples(variants[name], max(10, calls // 20))  # warm the pool and the caches
                samples = _samples(variants[name], calls)
                medians[name].append(statistics.median(samples))
                p99s[name].append(percentile(samples, 99))
        after = upstream.stats()
        client.close()
        reset_backend()
    sent = (rounds * (calls + max(10, calls // 20))) * len(variants)
    if after["refused"] != before["refused"] or after["authorized"] - before["authorized"] != sent:
        raise RuntimeError(f"the upstream saw {after} after {before}, expected {sent} authorized calls")
    med = {name: statistics.median(v) for name, v in medians.items()}
    p99 = {name: statistics.median(v) for name, v in p99s.items()}
    result.add("calls", f"{rounds} rounds x {calls} per variant, sequential, alternating")
    for name in variants:
        result.add(f"{name}: median / p99 per call", f"{med[name]:8.0f} us / {p99[name]:6.0f} us")
    base = "httpx.Client by hand"
    result.add(
        "plughub overhead per call (conn.run - by hand, medians)", f"{med['conn.run (SDK)'] - med[base]:8.0f} us"
    )
    result.add(
        "of which the SDK layer (conn.run - engine.actions.run)",
        f"{med['conn.run (SDK)'] - med['engine.actions.run']:8.0f} us",
    )
    result.ratio("conn.run / httpx by hand, p99", p99["conn.run (SDK)"] / p99[base])
    result.ratio("engine.actions.run / httpx by hand, median", med["engine.actions.run"] / med[base])
    result.ratio("conn.run / httpx by hand, median", med["conn.run (SDK)"] / med[base])
    result.check("B1 conn.run / httpx median", med["conn.run (SDK)"] / med[base], 1.15, "x")
    result.note(f"the upstream counted {after['authorized'] - before['authorized']} authorized calls, 0 refused")
    return result
