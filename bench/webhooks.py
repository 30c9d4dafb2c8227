"""B8: inbound webhooks per second (verify + store + 2xx) and the delivery lag under that load.

A real `plughub serve --workers 2` process (SQLite under a temp PLUGHUB_HOME; PostgreSQL too when
it answers on 127.0.0.1:5432), a team and an API key made with the CLI, a Clerk connection and a
subscription to CLERK_USER_CREATED made through the REST API, with the bench target
(bench.target, its own process on loopback) as `target_url`. Each request is a distinct
`user.created` webhook signed as Clerk signs (Standard Webhooks: `svix-id`, `svix-timestamp`,
`svix-signature` with the endpoint's `whsec_` secret), so that plughub verifies, stores and
answers each one; they are built before the clock starts and sent once each by the load generator
(bench.loadgen, `load_each`) from its own process, 16 at a time with keep-alive. Accept
latency is the load generator's, per request. The delivery lag is the target's: for each event,
its arrival at the target minus its `received_at` (plughub's time of acceptance), over all events
accepted during a run, after the deliveries have drained. Targets: >= 1,000 webhooks/s with p99
accept latency <= 50 ms on SQLite; delivery lag p99 <= 1 s.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import loadgen
from bench.common import ROOT, Result, child_env
from bench.target import Target
from bench.throughput import _cli, _free_port, _postgres, _postgres_available, _stop, _wait_for

NAME = "webhooks"
CLIENTS = 16
WORKERS = 2
TRIGGER = "CLERK_USER_CREATED"
# Built per run: more than the fastest setup accepts in a run, so that the time, not the list, ends it.
MOST_PER_SECOND = 4000


@dataclass(frozen=True)
class Hooked:
    """A served plughub with a subscription: where to post, the endpoint's signing secret, the pid."""

    webhook_url: str
    signing_secret: str
    pid: int


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children that still run (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in tree)


@dataclass(frozen=True)
class Figures:
    accepted_per_second: float
    p50_ms: float
    p99_ms: float
    refused: int
    lag_p50_ms: float
    lag_p99_ms: float
    lag_max_ms: float
    delivered: int
    accepted: int
    repeats: int
    cpu_ms: float  # the server's CPU time per accepted webhook (its processes, all cores)


def signed_requests(secret: str, count: int) -> list[tuple[dict[str, str], bytes]]:
    """`count` distinct user.created webhooks, each signed now as Clerk signs (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    now = int(time.time())
    built = []
    for _ in range(count):
        message_id = "msg_" + uuid.uuid4().hex[:27]
        user = {"id": "user_" + uuid.uuid4().hex[:24], "object": "user", "first_name": "Ada", "last_name": "Lovelace"}
        body = json.dumps(
            {"data": user, "object": "event", "type": "user.created", "timestamp": now * 1000}, separators=(",", ":")
        ).encode()
        digest = hmac.new(key, f"{message_id}.{now}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "svix-id": message_id,
            "svix-timestamp": str(now),
            "svix-signature": "v1," + base64.b64encode(digest).decode(),
        }
        built.append((headers, body))
    return built


@contextlib.contextmanager
def serve(target_url: str | None, database_url: str | None) -> Iterator[Hooked]:
    """Run `plughub serve --workers 2` with a Clerk subscription delivering to `target_url`."""
    with tempfile.TemporaryDirectory() as home:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = child_env(PLUGHUB_HOME=home, PLUGHUB_ALLOW_PRIVATE_NETWORKS="127.0.0.1/32", PLUGHUB_PUBLIC_URL=url)
        if database_url:
            env["PLUGHUB_DATABASE_URL"] = database_url
        team = _cli("teams", "create", "bench", "--json", env=env)
        key = _cli("api-keys", "create", "--team", team["id"], "--json", env=env)["key"]
        log = (Path(home) / "serve.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "plughub.cli", "serve", "--port", str(port), "--workers", str(WORKERS)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(lambda: httpx.get(f"{url}/v1/health", timeout=1), process, log.name)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                made = api.post(
                    "/v1/connections",
                    json={"integration_id": "clerk", "scheme": "BEARER_TOKEN", "data": {"token": "sk_test_bench"}},
                )
                made.raise_for_status()
                secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
                sub = api.post(
                    f"/v1/connections/{made.json()['id']}/subscriptions",
                    json={"trigger": TRIGGER, "config": {"signing_secret": secret}, "target_url": target_url},
                )
                sub.raise_for_status()
            yield Hooked(sub.json()["webhook_url"], secret, process.pid)
        finally:
            _stop(process)
            log.close()


def _drain(target: Target, accepted: int, deadline: float = 120.0) -> dict[str, float]:
    """Wait until the target has every accepted event (or the deadline); return its stats."""
    until = time.monotonic() + deadline
    stats = target.stats()
    while stats["delivered"] < accepted and time.monotonic() < until:
        time.sleep(0.2)
        stats = target.stats()
    return stats


def measure(target: Target, hooked: Hooked, seconds: float, runs: int, *, pushed: bool = True) -> Figures:
    """Warm up, then `runs` loads of `seconds` each; medians of their figures.

    `pushed`: the subscription has the target as `target_url` (else events are only stored).
    """
    warm = signed_requests(hooked.signing_secret, 400)
    loadgen.load_each(hooked.webhook_url, warm, connections=CLIENTS, seconds=1.0)
    samples: list[tuple[loadgen.LoadResult, dict[str, float]]] = []
    for _ in range(runs):
        time.sleep(1.0)  # the warm-up's (or last run's) deliveries settle before the target forgets them
        target.reset()
        requests = signed_requests(hooked.signing_secret, int(MOST_PER_SECOND * seconds))
        used = cpu_seconds(hooked.pid)
        figures = loadgen.load_each(hooked.webhook_url, requests, connections=CLIENTS, seconds=seconds)
        accepted = figures.requests - figures.non2xx
        drained = _drain(target, accepted) if pushed else {"delivered": 0, "repeats": 0}
        cpu_ms = (cpu_seconds(hooked.pid) - used) / max(1, accepted) * 1000
        samples.append(
            (figures, {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, **drained, "accepted": accepted, "cpu_ms": cpu_ms})
        )

    def median(values: Iterator[float]) -> float:
        return float(statistics.median(values))

    return Figures(
        accepted_per_second=median((f.requests - f.non2xx) / f.seconds for f, _ in samples),
        p50_ms=median(f.p50_ms for f, _ in samples),
        p99_ms=median(f.p99_ms for f, _ in samples),
        refused=sum(f.non2xx + f.errors for f, _ in samples),
        lag_p50_ms=median(s["p50_ms"] for _, s in samples),
        lag_p99_ms=median(s["p99_ms"] for _, s in samples),
        lag_max_ms=max(s["max_ms"] for _, s in samples),
        delivered=int(sum(s["delivered"] for _, s in samples)),
        accepted=int(sum(s["accepted"] for _, s in samples)),
        repeats=int(sum(s["repeats"] for _, s in samples)),
        cpu_ms=median(s["cpu_ms"] for _, s in samples),
    )


def run(quick: bool) -> Result:
    seconds, runs = (1.0, 1) if quick else (8.0, 3)
    result = Result("B8 inbound webhooks and delivery lag (2 workers)", command="python -m bench webhooks")
    result.add(
        "load generator", f"python asyncio, one signed request each, {CLIENTS} connections, {runs} x {seconds:g} s"
    )
    setups: list[tuple[str, bool]] = [("SQLite", True)]
    if not quick:
        setups.append(("SQLite", False))
    if _postgres_available() and not quick:
        setups.append(("PostgreSQL", True))
    elif not _postgres_available():
        result.note("PostgreSQL is not reachable on 127.0.0.1:5432: measured on SQLite only")
    measured: dict[str, Figures] = {}
    with Target() as target:
        for label, pushed in setups:
            with contextlib.ExitStack() as stack:
                database = stack.enter_context(_postgres()) if label == "PostgreSQL" else None
                hooked = stack.enter_context(serve(target.url if pushed else None, database))
                figures = measure(target, hooked, seconds, runs, pushed=pushed)
            name = f"plughub serve, {label}, {WORKERS} workers" + ("" if pushed else ", stored only (no target_url)")
            result.add(
                f"{name}: accepted",
                f"{figures.accepted_per_second:8.0f} webhooks/s  p50 {figures.p50_ms:5.1f} ms  "
                f"p99 {figures.p99_ms:6.1f} ms  ({figures.refused} refused or failed)",
            )
            result.add(f"{name}: server CPU per webhook", f"{figures.cpu_ms:8.2f} ms")
            if not pushed:
                continue
            measured[label] = figures
            result.add(
                f"{name}: delivery lag",
                f"p50 {figures.lag_p50_ms:7.1f} ms  p99 {figures.lag_p99_ms:7.1f} ms  max {figures.lag_max_ms:7.1f} ms",
            )
            result.add(
                f"plughub serve, {label}: delivered / accepted",
                f"{figures.delivered} / {figures.accepted} ({figures.repeats} repeats)",
            )
            if figures.delivered < figures.accepted:
                result.note(f"{label}: {figures.accepted - figures.delivered} accepted events not delivered in 120 s")
    sqlite = measured["SQLite"]
    result.check(
        "B8 SQLite webhooks accepted per second", sqlite.accepted_per_second, 1000, "/s", higher_is_better=True
    )
    result.check("B8 SQLite p99 accept latency", sqlite.p99_ms, 50, "ms")
    for label, figures in measured.items():
        result.check(f"B8 {label} delivery lag p99", figures.lag_p99_ms / 1000, 1, "s")
    return result
