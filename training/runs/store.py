"""The model store: one folder per finished run (model + JSON record), written atomically."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from training.core.errors import first_line
from training.core.files import file_sha256, fsync_dir, write_json_atomic
from training.runs.record import RunRecord

if TYPE_CHECKING:  # TensorFlow is imported only when a model is saved or loaded.
    import keras

STORE_ENV = "MNIST_STUDIO_MODELS"
MODEL_FILE = "model.keras"
RECORD_FILE = "record.json"
ACTIVE_FILE = "active.json"
RUNS_DIR = "runs"
TMP_DIR = ".tmp"
# Leftovers of a crashed save older than this are swept; younger ones may be a save in progress.
STALE_TMP_S = 3600


class StoreError(RuntimeError):
    """A run is missing, damaged or unreadable; the message names the file."""


@dataclass(frozen=True)
class Run:
    """One saved run as listed by the store: its folder and its typed record."""

    run_id: str
    path: Path
    record: RunRecord

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def summary(self) -> str:
        return self.record.summary()


class ModelStore:
    """Runs live in `root/runs/<run_id>/`; `root/active.json` names the active one."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root or os.environ.get(STORE_ENV) or "models").expanduser()

    # --- Reading ---------------------------------------------------------------------------

    def scan(self) -> tuple[list[Run], list[str]]:
        """All complete runs, newest first, and one sentence for each damaged run skipped."""
        runs, problems = [], []
        folder = self.root / RUNS_DIR
        if not folder.is_dir():
            return [], []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not path.is_dir():
                continue
            try:
                runs.append(self._read_run(path))
            except StoreError as error:
                problems.append(str(error))
        runs.sort(key=lambda run: (run.record.created_at, run.run_id), reverse=True)
        return runs, problems

    def runs(self) -> list[Run]:
        return self.scan()[0]

    def has_run(self, run_id: str) -> bool:
        """Whether a run of that id is in the store (not read or checked: see `get`)."""
        return _is_safe_id(run_id) and (self.root / RUNS_DIR / run_id).is_dir()

    def get(self, run_id: str) -> Run:
        if not _is_safe_id(run_id):
            raise StoreError(f"{run_id!r} is not a run id")
        path = self.root / RUNS_DIR / run_id
        if not path.is_dir():
            raise StoreError(f"no run named {run_id} in {self.root}")
        return self._read_run(path)

    def chosen_id(self) -> str | None:
        """The run the user made active (`active.json`), whether or not it is still whole."""
        try:
            chosen = json.loads((self.root / ACTIVE_FILE).read_text())["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return chosen if isinstance(chosen, str) else None

    def active_id(self) -> str | None:
        """The run the user chose, or the newest complete run when that choice is gone."""
        run = self.active()
        return run.run_id if run else None

    def active(self) -> Run | None:
        """The run the user chose, or the newest complete run when that choice is gone."""
        chosen = self.chosen_id()
        if chosen is not None:
            with contextlib.suppress(StoreError):
                return self.get(chosen)
        runs = self.runs()
        return runs[0] if runs else None

    def load_model(self, run_id: str) -> keras.Model:
        """Load a run's model with Keras's safe mode on (no arbitrary code from the file)."""
        import keras

        run = self.get(run_id)
        try:
            return keras.saving.load_model(run.model_path, compile=False, safe_mode=True)
        except Exception as error:
            raise StoreError(f"{run.model_path} could not be loaded: {first_line(error)}") from error

    # --- Writing ---------------------------------------------------------------------------

    def save(self, model: keras.Model, record: RunRecord, *, activate: bool = True,
             files: Mapping[str, Callable[[Path], object]] | None = None,
             folders: Mapping[str, Path] | None = None) -> Run:
        """Save a model and its record atomically: the run appears whole under `runs/` or not at all.

        Args:
            record: what the run measured; an empty `run_id` gets a new one.
            files: more files of the run, each written by its callable given the path
                (`{"doubt.npz": doubt.save}`), so that the first prediction need not build them.
            folders: folders copied into the run's folder under the given names (event logs).
        """
        record = replace(record, run_id=record.run_id or new_run_id(record.config.architecture))
        staging = self.write_run_folder(model, record, self._staging_dir(record.run_id), files=files,
                                        folders=folders)
        return self.adopt(staging, activate=activate)

    def write_run_folder(self, model: keras.Model, record: RunRecord, folder: Path, *,
                         files: Mapping[str, Callable[[Path], object]] | None = None,
                         folders: Mapping[str, Path] | None = None) -> Path:
        """Write a run's model, record and files into `folder` (created, then fsynced); returns it."""
        import keras
        import numpy as np
        import tensorflow as tf

        if not record.run_id:
            raise ValueError("a run folder needs the run's id")
        folder.mkdir(parents=True, exist_ok=True)
        try:
            model.save(folder / MODEL_FILE)
            for name, write in (files or {}).items():
                write(folder / name)
            for name, source in (folders or {}).items():
                if source.is_dir():
                    shutil.copytree(source, folder / name)
            record = replace(
                record, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                model_sha256=file_sha256(folder / MODEL_FILE),
                versions={"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__})
            write_json_atomic(folder / RECORD_FILE, record.to_dict())
            fsync_dir(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder

    def adopt(self, folder: Path, *, activate: bool = False) -> Run:
        """Move a complete run folder (from `write_run_folder`) into `runs/`, atomically."""
        run_id = _read_json(folder / RECORD_FILE)["run_id"]
        final = self.root / RUNS_DIR / run_id
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise StoreError(f"a run named {run_id} already exists in {self.root}")
        os.rename(folder, final)  # atomic on one filesystem
        fsync_dir(final.parent)
        if activate:
            self.set_active(run_id)
        return self._read_run(final)

    def rename(self, run_id: str, name: str) -> Run:
        """Give a run a name (shown next to its id); the record is replaced atomically."""
        run = self.get(run_id)
        name = " ".join(str(name).split())[:80]
        write_json_atomic(run.path / RECORD_FILE, replace(run.record, name=name).to_dict())
        return self._read_run(run.path)

    def set_active(self, run_id: str, *, by: str = "user") -> None:
        """Point at a run; the pointer is replaced atomically, so it is never torn.

        Args:
            by: "user" for a person's choice, "training" when a finished training activates its
                run; a training never overrides a person's choice made while it ran.
        """
        self.get(run_id)
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.root / ACTIVE_FILE, {"run_id": run_id, "by": by, "at": round(time.time(), 3)})

    def user_choice_time(self) -> float | None:
        """When a person last chose the active run (None if a training chose it, or never)."""
        try:
            pointer = json.loads((self.root / ACTIVE_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(pointer, dict) or pointer.get("by", "user") != "user":
            return None
        at = pointer.get("at")
        return float(at) if isinstance(at, int | float) else None

    def delete(self, run_id: str) -> None:
        """Remove a run: first moved out of `runs/` (atomic), then deleted.

        The active run cannot be deleted: make another run active first.
        """
        run = self.get(run_id)
        if self.chosen_id() == run_id:
            raise StoreError(f"{run_id} is the active model; make another run active before deleting it")
        trash = self._staging_dir(f"deleted-{run_id}")
        os.replace(run.path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # --- Internals -------------------------------------------------------------------------

    def _staging_dir(self, name: str) -> Path:
        tmp_root = self.root / TMP_DIR
        tmp_root.mkdir(parents=True, exist_ok=True)
        self._sweep_stale(tmp_root)
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_root))

    @staticmethod
    def _sweep_stale(tmp_root: Path) -> None:
        cutoff = time.time() - STALE_TMP_S
        for leftover in tmp_root.iterdir():
            try:
                if leftover.stat().st_mtime < cutoff:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                pass

    @staticmethod
    def _read_run(path: Path) -> Run:
        record_path, model_path = path / RECORD_FILE, path / MODEL_FILE
        try:
            values = _read_json(record_path)
        except FileNotFoundError:
            raise StoreError(f"{record_path} is missing; run skipped") from None
        except (OSError, ValueError) as error:
            raise StoreError(f"{record_path} is not valid JSON ({first_line(error)}); run skipped") from None
        if not isinstance(values, dict) or not {"config", "test_accuracy", "created_at"} <= values.keys():
            raise StoreError(f"{record_path} lacks required fields; run skipped")
        try:
            record = replace(RunRecord.from_dict(values), run_id=path.name)
        except (TypeError, ValueError, KeyError) as error:
            raise StoreError(f"{record_path} has a bad field ({first_line(error)}); run skipped") from None
        if not model_path.is_file():
            raise StoreError(f"{model_path} is missing; run skipped")
        if record.model_sha256 and _verified_sha256(model_path) != record.model_sha256:
            raise StoreError(f"{model_path} is damaged (checksum mismatch); run skipped")
        if not zipfile.is_zipfile(model_path):
            raise StoreError(f"{model_path} is not a Keras model file; run skipped")
        return Run(run_id=path.name, path=path, record=record)


def new_run_id(architecture: str) -> str:
    """Sortable by time, unique across concurrent trainings: 20261129-183012-cnn-3f2a9c."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{architecture}-{secrets.token_hex(3)}"


def _is_safe_id(run_id: str) -> bool:
    return bool(run_id) and all(c.isalnum() or c in "-_" for c in run_id)


# Checksums by (path, size, mtime): pages list the store on every rerun, and a model file that
# has not changed need not be read and hashed again.
_checksums: dict[tuple[str, int, int], str] = {}


def _verified_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checksums:
        _checksums[key] = file_sha256(path)
    return _checksums[key]


def _read_json(path: Path) -> object:
    return json.loads(path.read_text())
