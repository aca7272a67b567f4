"""Running the project's command-line tools as a user would, and reading what they print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(module: str, *args: str, env: dict | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m <module> args...` from the project root, TensorFlow's chatter off."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_line(stream: str) -> str:
    """The single non-empty line of an output; fails when there are more (a traceback, say)."""
    lines = [line for line in stream.splitlines() if line.strip()]
    assert len(lines) == 1, stream[-3000:]
    assert "Traceback" not in stream
    return lines[0]
