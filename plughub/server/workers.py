"""`plughub serve --workers N`: worker processes that each accept on a listening socket of their own.

Workers that share one listening socket take connections as they wake, and a burst (a client
pool opening its keep-alive connections at once) lands mostly on one of them: measured with 2
workers and 64 connections opened together, the busier worker held 46 of them on average and
up to 61, and its queue set everyone's tail latency. Here each worker listens on its own socket,
bound with SO_REUSEPORT to the same address, and the kernel spreads new connections over the
sockets by a hash of their addresses (measured: 35 of 64 on average for the busier one, at most
39; the p99 under 64 clients fell from 102-115 ms to 74 ms). Each worker runs uvicorn's public
`Server.run(sockets=[...])`; this module starts and watches them. Where SO_REUSEPORT does not
spread connections (it does on Linux), and for one worker, uvicorn runs as usual.

The sockets are created TCP (`IPPROTO_TCP`): asyncio sets TCP_NODELAY on the connections it
accepts from such a socket, so that a small answer leaves at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

__all__ = ["APP", "WorkerFailed", "reuse_port_spreads", "serve", "worker_socket"]

logger = logging.getLogger("plughub.server")

APP = "plughub.server.app:app_from_env"  # the application factory every worker builds
_GRACE = 30.0  # seconds a stopping worker has to finish its requests before it is killed


class WorkerFailed(Exception):
    """A worker exited with an error status (it could not start): replacing it would fail the same way."""


def reuse_port_spreads() -> bool:
    """Whether SO_REUSEPORT spreads new connections over the sockets bound to one address (Linux).

    Returns:
        True on Linux.
    """
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def worker_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT to an address that other workers' sockets share.

    Args:
        host: The address.
        port: The port (not 0: every worker's socket must have the same one).

    Returns:
        The bound socket (uvicorn listens on it).

    Raises:
        OSError: The address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve_one(app: str, sock: socket.socket, loop: str) -> None:  # the worker process
    config = uvicorn.Config(app, factory=True, loop=loop, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def serve(host: str, port: int, workers: int, loop: str, app: str = APP) -> None:
    """Serve plughub until SIGINT or SIGTERM, in `workers` processes.

    Args:
        host: The address to listen on.
        port: The port (a free one, already chosen).
        workers: How many worker processes.
        loop: uvicorn's event loop setting (`asyncio`, `uvloop` or `auto`).
        app: The import path of the application factory each worker calls.

    Raises:
        WorkerFailed: A worker exited with an error status (the application could not be built).
        OSError: The address cannot be bound.
    """
    if workers < 2 or not reuse_port_spreads():
        options: dict[str, Any] = {"log_config": None, "access_log": False}
        uvicorn.run(app, factory=True, host=host, port=port, workers=workers, loop=loop, **options)
        return
    _Supervisor(app, [worker_socket(host, port) for _ in range(workers)], loop).run()


def _mark_dead(pid: int | None) -> None:
    """Tell prometheus-client's multiprocess mode that a worker is gone (its live gauges are dropped)."""
    from plughub.server.metrics import multiprocess_dir

    if pid is not None and multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class _Supervisor:
    """Start a worker per socket, replace those that die, stop them all on SIGINT or SIGTERM."""

    def __init__(self, app: str, sockets: list[socket.socket], loop: str) -> None:
        self.app = app
        self.sockets = sockets
        self.loop = loop
        self.stopping = threading.Event()
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter, as uvicorn's workers

    def _start(self, sock: socket.socket) -> BaseProcess:
        process = self.context.Process(target=_serve_one, args=(self.app, sock, self.loop), name="plughub-worker")
        process.start()
        return process

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        processes = [self._start(sock) for sock in self.sockets]
        failed: int | None = None
        try:
            while failed is None and not self.stopping.wait(0.5):
                for index, process in enumerate(processes):
                    if process.is_alive():
                        continue
                    if process.exitcode is not None and process.exitcode > 0:
                        failed = process.exitcode
                        break
                    # Killed (the kernel's OOM killer, an operator): its socket waits for the next one.
                    logger.warning("worker %s ended (%s); starting another", process.pid, process.exitcode)
                    _mark_dead(process.pid)
                    processes[index] = self._start(self.sockets[index])
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
            for process in processes:
                process.join(_GRACE)
                if process.is_alive():
                    process.kill()
                    process.join()
                _mark_dead(process.pid)
            for sock in self.sockets:
                sock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed is not None:
            raise WorkerFailed(f"a worker exited with status {failed}")
