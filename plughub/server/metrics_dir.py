"""The directory where `plughub serve`'s workers keep their metrics (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MULTIPROC_ENV", "fresh_metrics_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def fresh_metrics_dir() -> Iterator[str]:
    """Give this server start an empty `PROMETHEUS_MULTIPROC_DIR`, and remove it when the server stops.

    prometheus-client's multiprocess mode sums the files every process writes there, so files left
    by an earlier start would be counted again: each start gets a directory of its own. It is made
    under the operator's `PROMETHEUS_MULTIPROC_DIR` when one is set (a tmpfs, say), else in the
    system's temporary directory. The variable is set before any worker imports prometheus-client
    (which reads it once, at import) and restored afterwards.

    Yields:
        The directory.
    """
    parent = os.environ.get(MULTIPROC_ENV) or None
    if parent is not None:
        os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(prefix="plughub-metrics-", dir=parent)
    os.environ[MULTIPROC_ENV] = path
    try:
        yield path
    finally:
        if parent is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = parent
        shutil.rmtree(path, ignore_errors=True)
