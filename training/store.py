"""The model store: one folder per finished run (model + JSON record), written atomically."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.record import RunRecord

if TYPE_CHECKING:  # TensorFlow is imported only when a model is saved or loaded.
    import keras

    from training.doubt import DoubtModel
    from training.neighbours import NeighbourIndex
    from training.train import TrainResult

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
    """One saved run as listed by the store: `info` is its typed record, `record` the raw JSON."""

    run_id: str
    path: Path
    record: dict[str, Any]

    @functools.cached_property
    def info(self) -> RunRecord:
        return RunRecord.from_dict(self.record)

    @property
    def architecture(self) -> str:
        return self.info.config.architecture

    @property
    def test_accuracy(self) -> float:
        return self.info.test_accuracy

    @property
    def created_at(self) -> str:
        return self.info.created_at

    @property
    def history(self) -> list[dict[str, float]]:
        return self.info.history

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def summary(self) -> str:
        partial = " (stopped early)" if self.info.cancelled else ""
        epochs = len(self.history)
        name = f" “{self.info.name}”" if self.info.name else ""
        return (f"{self.run_id}{name}: {self.architecture}, {epochs} epoch{'s' if epochs != 1 else ''}, "
                f"test accuracy {self.test_accuracy:.2%}{partial}")


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
        runs.sort(key=lambda run: (run.created_at, run.run_id), reverse=True)
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
            raise StoreError(f"{run.model_path} could not be loaded: {_first_line(error)}") from error

    # --- Writing ---------------------------------------------------------------------------

    def save(self, result: TrainResult, *, activate: bool = True, run_id: str | None = None,
             name: str = "", extra_dirs: dict[str, Path] | None = None,
             doubt: DoubtModel | None = None, neighbours: NeighbourIndex | None = None) -> Run:
        """Save a finished run atomically: it appears whole under `runs/` or not at all.

        Args:
            run_id: the id to save under (a job's id); a new one when None.
            name: the user's name for the run.
            extra_dirs: folders copied into the run's folder under the given names (event logs).
        """
        run_id = run_id or new_run_id(result.config.architecture)
        staging = self.write_run_folder(result, run_id, self._staging_dir(run_id), name=name,
                                        extra_dirs=extra_dirs, doubt=doubt, neighbours=neighbours)
        return self.adopt(staging, activate=activate)

    def write_run_folder(self, result: TrainResult, run_id: str, folder: Path, *, name: str = "",
                         extra_dirs: dict[str, Path] | None = None, doubt: DoubtModel | None = None,
                         neighbours: NeighbourIndex | None = None) -> Path:
        """Write a run's model and record into `folder` (created, then fsynced); returns it.

        `doubt` and `neighbours` (the nearest-training-digit index), when given, are saved beside
        the model so that the first prediction need not build them.
        """
        import keras
        import numpy as np
        import tensorflow as tf

        folder.mkdir(parents=True, exist_ok=True)
        try:
            result.model.save(folder / MODEL_FILE)
            record = RunRecord(
                run_id=run_id,
                name=name,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                config=result.config,
                history=result.history,
                epochs_completed=result.epochs_completed,
                cancelled=result.cancelled,
                stopped_at=result.stopped_at,
                batches_per_epoch=result.batches_per_epoch,
                temperature=result.temperature,
                test_accuracy=result.test_accuracy,
                test_loss=result.test_loss,
                confusion_matrix=result.confusion_matrix,
                mistakes=result.mistakes,
                duration_s=round(result.duration_s, 2),
                examples=result.examples,
                replicas=result.replicas,
                dataset_sha256=result.dataset_sha256,
                model_sha256=_file_sha256(folder / MODEL_FILE),
                versions={"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
                extras=dict(getattr(result, "extras", {}) or {}),
            ).to_dict()
            if doubt is not None:
                from training.doubt import DOUBT_FILE

                doubt.save(folder / DOUBT_FILE)
            if neighbours is not None:
                from training.neighbours import NEIGHBOURS_FILE

                neighbours.save(folder / NEIGHBOURS_FILE)
            for target, source in (extra_dirs or {}).items():
                if source.is_dir():
                    shutil.copytree(source, folder / target)
            _write_json(folder / RECORD_FILE, record)
            _fsync_dir(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder

    def adopt(self, folder: Path, *, activate: bool = False) -> Run:
        """Move a complete run folder (from `write_run_folder`) into `runs/`, atomically."""
        run_id = json.loads((folder / RECORD_FILE).read_text())["run_id"]
        final = self.root / RUNS_DIR / run_id
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise StoreError(f"a run named {run_id} already exists in {self.root}")
        os.rename(folder, final)  # atomic on one filesystem
        _fsync_dir(final.parent)
        if activate:
            self.set_active(run_id)
        return self._read_run(final)

    def rename(self, run_id: str, name: str) -> Run:
        """Give a run a name (shown next to its id); the record is replaced atomically."""
        run = self.get(run_id)
        name = " ".join(str(name).split())[:80]
        record = dict(run.record, name=name)
        _write_json_atomic(run.path / RECORD_FILE, record)
        return self._read_run(run.path)

    def set_active(self, run_id: str, *, by: str = "user") -> None:
        """Point at a run; the pointer is replaced atomically, so it is never torn.

        Args:
            by: "user" for a person's choice, "training" when a finished training activates its
                run; a training never overrides a person's choice made while it ran.
        """
        self.get(run_id)
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(self.root / ACTIVE_FILE, {"run_id": run_id, "by": by, "at": round(time.time(), 3)})

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
            record = json.loads(record_path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{record_path} is missing; run skipped") from None
        except (OSError, ValueError) as error:
            raise StoreError(f"{record_path} is not valid JSON ({_first_line(error)}); run skipped") from None
        if not isinstance(record, dict) or not {"config", "test_accuracy", "created_at"} <= record.keys():
            raise StoreError(f"{record_path} lacks required fields; run skipped")
        try:
            RunRecord.from_dict(record)
        except (TypeError, ValueError, KeyError) as error:
            raise StoreError(f"{record_path} has a bad field ({_first_line(error)}); run skipped") from None
        if not model_path.is_file():
            raise StoreError(f"{model_path} is missing; run skipped")
        if record.get("model_sha256") and _verified_sha256(model_path) != record["model_sha256"]:
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


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())


def _write_json_atomic(path: Path, value: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    os.close(fd)
    try:
        _write_json(Path(tmp), value)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Checksums by (path, size, mtime): pages list the store on every rerun, and a model file that
# has not changed need not be read and hashed again.
_checksums: dict[tuple[str, int, int], str] = {}


def _verified_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _checksums:
        _checksums[key] = _file_sha256(path)
    return _checksums[key]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
