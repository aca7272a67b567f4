"""The user-digit store: the person's own labelled digits in one SQLite file, safe for two writers.

Each saved digit keeps the drawing as PNG bytes, the 28×28 uint8 image the model saw (ink 255 on
0, as in MNIST), its label, the model's answer, the run that answered and when. Some digits are
held out when saved (`runs/holdout.py`): never trained on, only used to measure the person's hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from training.core.errors import first_line
from training.runs.holdout import holds_out
from training.runs.store import ModelStore
from training.runs.user_digit_records import NewDigit, SaveReport, UserDigit, as_image28
from training.runs.user_digits_schema import SCHEMA_VERSION, migrate, use_wal

USER_DIGITS_ENV = "MNIST_STUDIO_USER_DIGITS"
DB_NAME = "user_digits.sqlite3"
# A second writer waits this long for the first one's transaction before giving up.
BUSY_TIMEOUT_MS = 15_000


class UserDigitsError(RuntimeError):
    """The user-digit database cannot be used (damaged, locked, newer); the message names the file."""


def default_path(models_root: Path | str | None = None) -> Path:
    """$MNIST_STUDIO_USER_DIGITS, else `user_digits.sqlite3` in the model store's folder."""
    configured = os.environ.get(USER_DIGITS_ENV)
    if configured:
        return Path(configured).expanduser()
    return ModelStore(models_root).root / DB_NAME


class UserDigitStore:
    """The person's labelled digits in one SQLite file (WAL mode, one transaction per write).

    Opening is cheap; each call opens its own connection, so one store can be shared by threads
    and the same file by processes. Every error is a `UserDigitsError` naming the file.
    """

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path).expanduser() if path else default_path()

    # --- Writing ---------------------------------------------------------------------------------

    def add(self, digit: NewDigit) -> int | None:
        """Save one digit; returns its id, or None when the same 28×28 image is already saved."""
        report = self.add_many([digit])
        return report.added[0] if report.added else None

    def add_many(self, digits: Iterable[NewDigit]) -> SaveReport:
        """Save digits in one transaction (all or none); already-saved images are skipped.

        Raises:
            ValueError: a digit is not a 28×28 image or its label is not 0..9 (nothing saved).
        """
        rows = [_row(digit) for digit in digits]
        added: list[int] = []
        with self._transaction() as connection:
            counters = dict(connection.execute("SELECT label, saved FROM label_counters"))
            # Each label's saved and held-out digits, as the hold-out rule counts them.
            saved = {label: [total, held] for label, total, held in connection.execute(
                "SELECT label, COUNT(*), SUM(held_out) FROM digits GROUP BY label")}
            for row in rows:
                if connection.execute("SELECT 1 FROM digits WHERE content_hash = ?",
                                      (row["content_hash"],)).fetchone():
                    continue
                seq = counters.get(row["label"], 0) + 1
                counters[row["label"]] = seq
                total, held = saved.setdefault(row["label"], [0, 0])
                held_out = holds_out(total, held)
                saved[row["label"]] = [total + 1, held + held_out]
                cursor = connection.execute(
                    "INSERT INTO digits (label, image28, drawing_png, prediction, probabilities, run_id,"
                    " source, created_at, content_hash, label_seq, held_out) VALUES (:label, :image28,"
                    " :drawing_png, :prediction, :probabilities, :run_id, :source, :created_at,"
                    " :content_hash, :label_seq, :held_out)",
                    {**row, "label_seq": seq, "held_out": int(held_out)})
                added.append(int(cursor.lastrowid))
            connection.executemany("INSERT OR REPLACE INTO label_counters (label, saved) VALUES (?, ?)",
                                   sorted(counters.items()))
        return SaveReport(added=added, duplicates=len(rows) - len(added))

    def delete(self, digit_id: int) -> bool:
        """Delete one digit; False when there was no such digit."""
        with self._transaction() as connection:
            return connection.execute("DELETE FROM digits WHERE id = ?", (int(digit_id),)).rowcount > 0

    def clear(self) -> int:
        """Delete every digit (and restart the held-out counting); returns how many there were."""
        with self._transaction() as connection:
            deleted = connection.execute("DELETE FROM digits").rowcount
            connection.execute("DELETE FROM label_counters")
        return deleted

    # --- Reading ---------------------------------------------------------------------------------

    def counts(self) -> dict[int, int]:
        """Saved digits per label, 0..9 (zeros included)."""
        counts = dict.fromkeys(range(10), 0)
        with self._reading() as connection:
            counts.update(connection.execute("SELECT label, COUNT(*) FROM digits GROUP BY label"))
        return counts

    def held_out_counts(self) -> dict[int, int]:
        """Held-out digits per label, 0..9."""
        counts = dict.fromkeys(range(10), 0)
        with self._reading() as connection:
            counts.update(connection.execute(
                "SELECT label, COUNT(*) FROM digits WHERE held_out = 1 GROUP BY label"))
        return counts

    def digits(self, label: int | None = None, *, held_out: bool | None = None) -> list[UserDigit]:
        """Saved digits, oldest first; of one label and/or only held-out (or only trainable) ones."""
        where, values = _filters(label, held_out)
        with self._reading() as connection:
            rows = connection.execute(
                "SELECT id, label, image28, prediction, probabilities, run_id, source, created_at,"
                f" held_out FROM digits{where} ORDER BY id", values).fetchall()
        return [UserDigit(digit_id=row[0], label=row[1], image28=_image(row[2]), prediction=row[3],
                          probabilities=json.loads(row[4]) if row[4] else None, run_id=row[5],
                          source=row[6], created_at=row[7], held_out=bool(row[8])) for row in rows]

    def arrays(self, *, held_out: bool | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x (N, 28, 28) uint8, y (N,) uint8, ids (N,) int64), oldest first."""
        where, values = _filters(None, held_out)
        with self._reading() as connection:
            rows = connection.execute(f"SELECT id, label, image28 FROM digits{where} ORDER BY id",
                                      values).fetchall()
        x = np.stack([_image(row[2]) for row in rows]) if rows else np.zeros((0, 28, 28), np.uint8)
        return x, np.array([row[1] for row in rows], np.uint8), np.array([row[0] for row in rows], np.int64)

    def drawing_png(self, digit_id: int) -> bytes | None:
        """The drawing as it was saved (PNG bytes), or None (imported digits have none)."""
        with self._reading() as connection:
            row = connection.execute("SELECT drawing_png FROM digits WHERE id = ?",
                                     (int(digit_id),)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else None

    def check(self) -> None:
        """Read the whole file once; raises `UserDigitsError` naming it when it is damaged."""
        with self._reading() as connection:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise UserDigitsError(f"{self.path} is damaged ({problems[0]}); move it away to start a new one")

    # --- Connections -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so that two writers queue."""
        with self._connection(create=True) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._connection(create=False) as connection:
            yield connection

    @contextlib.contextmanager
    def _connection(self, *, create: bool) -> Iterator[sqlite3.Connection]:
        connection = None
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            elif not self.path.exists():
                connection = sqlite3.connect(":memory:", isolation_level=None)
                migrate(connection)
                yield connection
                return
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            use_wal(connection, BUSY_TIMEOUT_MS / 1000)
            connection.execute("PRAGMA synchronous = FULL")
            self._upgrade(connection)
            yield connection
        except sqlite3.Error as error:
            raise UserDigitsError(self._describe(error)) from None
        finally:
            if connection is not None:
                connection.close()

    def _upgrade(self, connection: sqlite3.Connection) -> None:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserDigitsError(f"{self.path} was written by a newer MNIST Studio (schema {version}; "
                                  f"this one reads up to {SCHEMA_VERSION})")
        if version < SCHEMA_VERSION:
            connection.execute("BEGIN IMMEDIATE")
            try:
                migrate(connection)
            except BaseException:
                connection.rollback()
                raise
            connection.execute("COMMIT")

    def _describe(self, error: sqlite3.Error) -> str:
        reason = first_line(error)
        if "locked" in reason or "busy" in reason:
            return f"{self.path} is busy (another program is writing to it); try again"
        # SQLite says "file is not a database" or "database disk image is malformed".
        if type(error) is sqlite3.DatabaseError or "malformed" in reason or "not a database" in reason:
            return (f"{self.path} is damaged or not a user-digit database ({reason}); "
                    "move it away to start a new one")
        return f"{self.path} cannot be used ({reason})"


def _row(digit: NewDigit) -> dict:
    if isinstance(digit.label, bool) or not isinstance(digit.label, int | np.integer) \
            or not 0 <= int(digit.label) <= 9:
        raise ValueError(f"a label must be a digit 0..9, got {digit.label!r}")
    image28 = as_image28(digit.image28)
    probabilities = None
    if digit.probabilities is not None:
        values = [float(p) for p in digit.probabilities]
        if len(values) != 10:
            raise ValueError(f"expected 10 probabilities, got {len(values)}")
        probabilities = json.dumps(values)
    return {"label": int(digit.label), "image28": image28.tobytes(), "drawing_png": digit.drawing_png,
            "prediction": None if digit.prediction is None else int(digit.prediction),
            "probabilities": probabilities, "run_id": digit.run_id, "source": digit.source,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "content_hash": hashlib.sha256(image28.tobytes()).hexdigest()}


def _filters(label: int | None, held_out: bool | None) -> tuple[str, list]:
    clauses, values = [], []
    if label is not None:
        clauses.append("label = ?")
        values.append(int(label))
    if held_out is not None:
        clauses.append("held_out = ?")
        values.append(int(held_out))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


def _image(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, np.uint8).reshape(28, 28).copy()
