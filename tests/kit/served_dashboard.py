"""The dashboard served for a benchmark: its server process's memory and CPU time, a store with
the run to show, a watchdog, and the `main` the load benchmarks share."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import psutil

from training.runs.store import RUNS_DIR, ModelStore


def streamlit_process(port: int) -> psutil.Process:
    """The `streamlit run` process this process started on `port` (`dashboard_server.serve`'s child)."""
    for child in psutil.Process().children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.Error:
            continue
        if "streamlit" in " ".join(command) and str(port) in command:
            return child
    raise LookupError(f"no streamlit process of ours listens on port {port}")


def tree_rss_mb(process: psutil.Process) -> float:
    """Resident memory of a process and its children, in MiB."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return round(total / 2**20, 1)


async def sample_rss(process: psutil.Process, samples: list[float], stop) -> None:
    """Append `tree_rss_mb(process)` to `samples` every second until the asyncio.Event `stop` is set."""
    while not stop.is_set():
        samples.append(tree_rss_mb(process))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time (user and system) used so far by a process and its children."""
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def store_with_active(store_root: str, run_id: str, folder: str) -> str:
    """The store to serve: `store_root` itself when `run_id` is empty, else a copy in `folder` of
    just that run, made active (the caller's store and its active pointer are left alone)."""
    if not run_id:
        return store_root
    source = ModelStore(store_root).get(run_id)
    copy = ModelStore(Path(folder) / "store")
    shutil.copytree(source.path, copy.root / RUNS_DIR / run_id)
    copy.set_active(run_id)
    return str(copy.root)


def start_watchdog(seconds: float) -> None:
    """Past `seconds`, end this process and every process it started (servers, browsers)."""

    def expire() -> None:
        print(f"watchdog: still running after {seconds:.0f} s; giving up", file=sys.stderr, flush=True)
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


def serve_and_measure(program: str, argv: list[str], watchdog_s: float, measure, report) -> int:
    """The `main` of a load benchmark: `python -m PROGRAM STORE_DIR RUN_ID` (an empty RUN_ID means
    the active run). Serves the dashboard against that store, runs `await measure(url, server)`
    and prints `report(*results)` as one JSON line."""
    from tests.kit.dashboard_server import serve

    if len(argv) != 2:
        print(f"usage: python -m {program} STORE_DIR RUN_ID", file=sys.stderr)
        return 2
    start_watchdog(watchdog_s)
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        store = store_with_active(argv[0], argv[1], folder)
        with serve(store) as url:
            results = asyncio.run(measure(url, streamlit_process(port_of(url))))
    print(json.dumps(report(*results)))
    return 0
