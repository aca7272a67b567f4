"""Start the dashboard as a real server in a subprocess, for browser tests and screenshots."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The server entry (dashboard/server.py) serves dashboard/app.py; see its docstring for why.
APP = ROOT / "dashboard" / "server.py"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on localhost now (all bound at once, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until_healthy(url: str, process: subprocess.Popen, timeout_s: float = 90) -> None:
    """Poll `/_stcore/health` until it answers `ok`, as Streamlit's own e2e suite does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} was not healthy after {timeout_s:.0f} s")


@contextlib.contextmanager
def serve(store_root: Path | str, *, train_limit: int | None = None,
          port: int | None = None, log_path: Path | None = None) -> Iterator[str]:
    """Run `streamlit run dashboard/server.py` against a model store; yields the base URL.

    Args:
        store_root: the model store folder (MNIST_STUDIO_MODELS).
        train_limit: MNIST_STUDIO_TRAIN_LIMIT, for quick trainings.
        port: the port to listen on; a free one when None.
        log_path: where to keep the server's output (a temporary file when None).
    """
    port = port or free_port()
    env = dict(os.environ, MNIST_STUDIO_MODELS=str(store_root), TF_CPP_MIN_LOG_LEVEL="2",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    env.pop("MNIST_STUDIO_TRAIN_LIMIT", None)
    if train_limit:
        env["MNIST_STUDIO_TRAIN_LIMIT"] = str(train_limit)
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with open(log_path, "w+b") if log_path else tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process)
            yield url
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
