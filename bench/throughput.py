"""B2: server throughput of `POST /v1/connections/{id}/actions/{code}/run` under 64 clients.

A real `plughub serve` process (SQLite under a temp PLUGHUB_HOME; PostgreSQL too when it answers
on 127.0.0.1:5432), one and two workers, a team and an API key made with the CLI, the bench
integration on PLUGHUB_CATALOG_PATH and a BEARER_TOKEN connection made through the API. The load
generator (bench.loadgen: wrk, or an asyncio client) runs in its own process and keeps 64
requests in flight; the upstream (bench.upstream) is on loopback. The upstream's own ceiling is
measured the same way (64 clients calling it directly with the same bearer token). The upstream
counts what it served, so an action that failed without reaching it cannot pass for throughput.

The floor is what a user would compare with: a hand-written proxy (bench.floor: a Starlette route
that parses `{"inputs": {}}`, sends the GET with a fixed bearer token through one
`aiohttp.ClientSession` and returns the JSON) under uvicorn with 2 workers, measured with the same
load generator against the same upstream in the same run. plughub with 2 workers is reported as
a fraction of it (targets: SQLite >= 0.6, PostgreSQL >= 0.45, p99 <= the floor's x 1.5). The
server runs with its defaults (`plughub serve --help`).

The floor and every plughub setup run at once during the whole measurement (idle but for the one
measured), and each round measures each of them in turn, starting one further along each round:
on a shared machine, a burst of load from elsewhere then hits them alike, and the ratios compare
figures taken minutes, not a quarter of an hour, apart. Figures are medians over the rounds.
Each line also gives the server's CPU per request answered (the CPU time, user and system, of its
processes during the measurement, from /proc, over the requests): on a shared machine it moves
much less than the rates do, and it is what "doing less per run" changes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from bench import loadgen
from bench.common import GET_INPUTS, GET_ITEM, ROOT, TOKEN, Result, child_env, definition
from bench.upstream import Upstream

NAME = "throughput"
CLIENTS = 64
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    confirmed: float  # upstream-counted actions per second
    errors: int
    cpu_us: float | None = None  # the server's CPU (its processes, user + system) per request answered


def _tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process and its descendants have used so far; None off Linux."""
    proc = Path("/proc")
    if not (proc / str(pid)).exists():
        return None
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grown = {pid}, True
    while grown:
        grown = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grown = True
    return sum(used.get(member, 0.0) for member in tree)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str, env: dict[str, str]) -> dict:  # type: ignore[type-arg]
    command = [sys.executable, "-m", "plughub.cli", *args] if not shutil.which("plughub") else ["plughub", *args]
    out = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120).stdout
    return dict(json.loads(out))


def _postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    import psycopg

    name = "plughub_bench_" + secrets.token_hex(4)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def floor(upstream_url: str, workers: int = 2) -> Iterator[tuple[str, int]]:
    """Run the hand-written proxy (bench.floor) under uvicorn; yield its run URL and its process id."""
    from bench.floor import PATH

    with tempfile.TemporaryDirectory() as home:
        port = _free_port()
        log = (Path(home) / "floor.log").open("wb")
        command = [sys.executable, "-m", "uvicorn", "bench.floor:app", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(
            [*command, "--no-access-log", "--log-level", "warning"],
            env=child_env(BENCH_FLOOR_UPSTREAM=upstream_url),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(lambda: httpx.post(url + PATH, json={"inputs": GET_INPUTS}, timeout=1), process, log.name)
            yield url + PATH, process.pid
        finally:
            _stop(process)
            log.close()


@contextlib.contextmanager
def serve(
    upstream_port: int, workers: int, database_url: str | None, *options: str
) -> Iterator[tuple[str, str, str, int]]:
    """Run `plughub serve` (with more command-line `options`); yield (base URL, API key, connection id, process id).

    The bench integration comes from PLUGHUB_CATALOG_PATH, as a deployment's own definitions would.
    (One created with `POST /v1/integrations` works too: every worker finds it in the database.)
    """
    with tempfile.TemporaryDirectory() as home:
        catalog = Path(home) / "catalog"
        catalog.mkdir()
        (catalog / "benchapi.yaml").write_text(yaml.safe_dump(definition(upstream_port)))
        env = child_env(
            PLUGHUB_HOME=home, PLUGHUB_ALLOW_PRIVATE_NETWORKS="127.0.0.1/32", PLUGHUB_CATALOG_PATH=str(catalog)
        )
        if database_url:
            env["PLUGHUB_DATABASE_URL"] = database_url
        team = _cli("teams", "create", "bench", "--json", env=env)
        key = _cli("api-keys", "create", "--team", team["id"], "--json", env=env)["key"]
        port = _free_port()
        log = (Path(home) / "serve.log").open("wb")
        command = (
            [sys.executable, "-m", "plughub.cli", "serve"] if not shutil.which("plughub") else ["plughub", "serve"]
        )
        process = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers), *options],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(lambda: httpx.get(f"{url}/v1/health", timeout=1), process, str(Path(home) / "serve.log"))
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                made = api.post(
                    "/v1/connections",
                    json={"integration_id": "benchapi", "scheme": "BEARER_TOKEN", "data": {"token": TOKEN}},
                )
                made.raise_for_status()
                connection = made.json()["id"]
            _warm(url, key, connection)
            yield url, key, connection, process.pid
        finally:
            _stop(process)
            log.close()


def _warm(url: str, key: str, connection: str) -> None:
    """Open every worker's vault and pool before the clock starts: many new connections at once."""

    def one(_index: int) -> None:
        answer = httpx.post(
            f"{url}/v1/connections/{connection}/actions/{GET_ITEM}/run",
            json={"inputs": GET_INPUTS},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        if answer.status_code != 200 or answer.json().get("status") != "SUCCESS":
            raise RuntimeError(f"the run-action route answered {answer.status_code}: {answer.text[:300]}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(48)))


def _wait_for(probe: Callable[[], httpx.Response], process: subprocess.Popen[bytes], log: str) -> None:
    """Wait until `probe` answers 200 (the server is up), or fail with the end of its log."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{Path(log).read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if probe().status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer:\n{Path(log).read_text()[-2000:]}")


@dataclass
class _Setup:
    """One server under test: where to send, what the upstream counted, its samples."""

    url: str
    headers: dict[str, str]
    samples: list[tuple[loadgen.LoadResult, float]]  # what the load generator saw, upstream-counted per second
    pid: int | None = None  # the server's process (its CPU is measured with its children's)
    cpu: list[float] = field(default_factory=list)  # CPU seconds per request answered, per sample


def _one(upstream: Upstream, setup: _Setup, body: str, method: str, seconds: float) -> None:
    before = upstream.stats()["authorized"]
    cpu_before = _tree_cpu(setup.pid) if setup.pid is not None else None
    figures = loadgen.load(
        setup.url, method=method, headers=setup.headers, body=body, connections=CLIENTS, seconds=seconds
    )
    cpu_after = _tree_cpu(setup.pid) if setup.pid is not None else None
    setup.samples.append((figures, (upstream.stats()["authorized"] - before) / figures.seconds))
    if cpu_before is not None and cpu_after is not None and figures.requests:
        setup.cpu.append((cpu_after - cpu_before) / figures.requests)


def _figures(setup: _Setup) -> Figures:
    samples = [s for s, _confirmed in setup.samples]
    return Figures(
        rps=statistics.median(s.rps for s in samples),
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        confirmed=statistics.median(c for _s, c in setup.samples),
        errors=sum(s.errors + s.non2xx for s in samples),
        cpu_us=statistics.median(setup.cpu) * 1e6 if setup.cpu else None,
    )


def _measure(
    upstream: Upstream, url: str, headers: dict[str, str], body: str, method: str, seconds: float, runs: int
) -> Figures:
    setup = _Setup(url, headers, [])
    if runs > 1:  # a warm-up load, but for a smoke run
        loadgen.load(url, method=method, headers=headers, body=body, connections=CLIENTS, seconds=1.0)
    for _ in range(runs):
        _one(upstream, setup, body, method, seconds)
    return _figures(setup)


def _rounds(upstream: Upstream, setups: list[_Setup], body: str, seconds: float, runs: int) -> None:
    """Measure every setup once per round, the order turning each round, so that load from elsewhere hits all alike."""
    if runs > 1:
        for setup in setups:  # a warm-up load, but for a smoke run
            loadgen.load(setup.url, method="POST", headers=setup.headers, body=body, connections=CLIENTS, seconds=1.0)
    for round_ in range(runs):
        turn = round_ % len(setups)
        for setup in setups[turn:] + setups[:turn]:
            _one(upstream, setup, body, "POST", seconds)


def _line(figures: Figures, unit: str) -> str:
    cpu = f"  CPU {figures.cpu_us:4.0f} us each" if figures.cpu_us is not None else ""
    return f"{figures.rps:8.0f} {unit}  p50 {figures.p50_ms:5.1f} ms  p99 {figures.p99_ms:6.1f} ms{cpu}"


def run(quick: bool) -> Result:
    seconds, runs = (1.0, 1) if quick else (8.0, 5)
    result = Result("B2 server throughput (run-action route, 64 clients)", command="python -m bench throughput")
    result.add("load generator", f"{loadgen.tool()}, {CLIENTS} connections, {runs} rounds x {seconds:g} s per setup")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = json.dumps({"inputs": GET_INPUTS})
    postgres = _postgres_available()
    with Upstream(TOKEN) as upstream:
        ceiling = _measure(upstream, f"{upstream.url}/items/42?verbose=true", auth, "", "GET", seconds, min(runs, 3))
        result.add("upstream alone (its ceiling)", _line(ceiling, "req/s"))
        labels = [("SQLite", 1)] if quick else [("SQLite", 1), ("SQLite", 2)]
        if postgres and not quick:
            labels += [("PostgreSQL", 1), ("PostgreSQL", 2)]
        elif not postgres:
            result.note("PostgreSQL is not reachable on 127.0.0.1:5432: measured on SQLite only")
        with contextlib.ExitStack() as stack:
            # Every server runs at once, and each round measures each of them in turn.
            floor_url, floor_pid = stack.enter_context(floor(upstream.url))
            base_setup = _Setup(floor_url, {"Content-Type": "application/json"}, [], floor_pid)
            setups: list[_Setup] = []
            for label, workers in labels:
                database = stack.enter_context(_postgres()) if label == "PostgreSQL" else None
                url, key, connection, pid = stack.enter_context(serve(upstream.port, workers, database))
                headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                run_url = f"{url}/v1/connections/{connection}/actions/{GET_ITEM}/run"
                setups.append(_Setup(run_url, headers, [], pid))
            _rounds(upstream, [base_setup, *setups], body, seconds, runs)
        base = _figures(base_setup)
        result.add(
            "the floor: hand-written proxy, uvicorn, 2 workers",
            f"{_line(base, 'req/s')}  (upstream saw {base.confirmed:.0f}/s; {base.errors} errors)",
        )
        best: Figures | None = None
        against_floor: list[tuple[str, Figures]] = []
        for (label, workers), setup in zip(labels, setups, strict=True):
            figures = _figures(setup)
            name = f"plughub serve, {label}, {workers} worker{'s' if workers > 1 else ''}"
            result.add(
                name,
                f"{_line(figures, 'actions/s')}  (upstream saw {figures.confirmed:.0f}/s; {figures.errors} errors)",
            )
            result.ratio(f"{label} {workers}w: upstream ceiling / actions per second", ceiling.rps / figures.rps)
            if workers == 2:
                result.ratio(f"{label} 2w: actions per second / the floor's", figures.rps / base.rps)
                result.ratio(f"{label} 2w: p99 / the floor's p99", figures.p99_ms / base.p99_ms)
                if figures.cpu_us and base.cpu_us:
                    result.ratio(f"{label} 2w: server CPU per action / the floor's", figures.cpu_us / base.cpu_us)
                against_floor.append((label, figures))
            if figures.errors:
                result.note(f"{name}: {figures.errors} failed requests")
            if best is None or figures.rps > best.rps:
                best = figures
    result.note("the bench integration is served from PLUGHUB_CATALOG_PATH")
    result.note("every server runs during the whole measurement; each round measures each in turn (medians of rounds)")
    assert best is not None
    result.check("B2 actions per second (best setup)", best.rps, 1500, "/s", higher_is_better=True)
    result.check("B2 p99 (best setup)", best.p99_ms, 50, "ms")
    targets = {"SQLite": 0.6, "PostgreSQL": 0.45}
    for label, figures in against_floor:
        result.check(f"B2 {label} 2w / the floor", figures.rps / base.rps, targets[label], "x", higher_is_better=True)
        result.check(f"B2 {label} 2w p99 / the floor's p99", figures.p99_ms / base.p99_ms, 1.5, "x")
    return result
