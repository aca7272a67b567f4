"""Write a file so that a reader sees the old one, the new one, or none: never half of one."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write` on a temporary file in `path`'s folder, sync it, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_npz_atomic(path: Path, *, compressed: bool = False, **arrays: object) -> None:
    """Save `arrays` as a NumPy archive at `path`, atomically."""
    # NumPy only here: the store and the job logs write JSON, and their commands start without it.
    import numpy as np

    write_atomic(path, lambda f: (np.savez_compressed if compressed else np.savez)(f, **arrays))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path`, atomically."""
    write_atomic(path, lambda f: f.write(data))


def write_json_atomic(path: Path, value: object) -> None:
    """Write `value` as indented JSON to `path`, atomically."""
    write_atomic(path, lambda f: f.write(json.dumps(value, indent=2).encode()))


def fsync_dir(path: Path) -> None:
    """Make a folder's new entries (a file written or renamed into it) survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
