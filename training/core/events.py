"""Append-only JSON-lines event logs: one writer appends, any number of readers follow.

Each event is one line, written with a single `write` on a file opened in append mode and
flushed, so a reader sees whole lines; a kill can leave a torn last line, which readers skip.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


def append_event(path: Path, kind: str, **fields: Any) -> dict[str, Any]:
    """Append one event `{"event": kind, "time": ..., **fields}` to the log at `path`."""
    event = {"event": kind, "time": round(time.time(), 3), **fields}
    line = json.dumps(event, separators=(",", ":")) + "\n"
    # O_APPEND makes each write land whole at the end, even with a second writer.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return event


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every whole event in the log, in order; a missing file is an empty log."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    events = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a torn last line (killed mid-write) or a damaged one: skipped
        if isinstance(event, dict) and isinstance(event.get("event"), str):
            events.append(event)
    return events
