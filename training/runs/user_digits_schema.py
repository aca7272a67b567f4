"""The user-digit file's schema, its migrations, and the journal every connection writes through."""

from __future__ import annotations

import sqlite3
import time

SCHEMA_VERSION = 2
# MIGRATIONS[v] brings a database at schema version v to v + 1, in one transaction.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE digits (
        id INTEGER PRIMARY KEY,
        label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        image28 BLOB NOT NULL CHECK (length(image28) = 784),
        drawing_png BLOB,
        prediction INTEGER CHECK (prediction IS NULL OR prediction BETWEEN 0 AND 9),
        probabilities TEXT,
        run_id TEXT,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        label_seq INTEGER NOT NULL,
        held_out INTEGER NOT NULL CHECK (held_out IN (0, 1))
    );
    CREATE INDEX digits_by_label ON digits (label, id);
    -- How many digits each label has ever had (each digit's label_seq).
    CREATE TABLE label_counters (label INTEGER PRIMARY KEY, saved INTEGER NOT NULL);
    """,
    # The 2nd digit of a label is held out now (runs/holdout.py), no longer only every 5th: a database
    # saved before holds out the newest digit of each label with two or more and none held out, so
    # that its owner gets a measure without saving more.
    """
    UPDATE digits SET held_out = 1 WHERE id IN (
        SELECT MAX(id) FROM digits GROUP BY label HAVING COUNT(*) >= 2 AND SUM(held_out) = 0);
    """,
]
# A switch of journal mode that meets another connection is retried this often.
WAL_RETRY_S = 0.01


def migrate(connection: sqlite3.Connection) -> None:
    """Apply the missing migrations inside the caller's transaction (re-reading the version in it)."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    for target in range(version, SCHEMA_VERSION):
        for statement in MIGRATIONS[target].split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {target + 1}")


def use_wal(connection: sqlite3.Connection, timeout_s: float) -> None:
    """Put the file in WAL mode (two writers, readers never blocked). SQLite refuses a switch
    that meets another connection at once ("database is locked"), without waiting as it does for
    other statements, so two programs saving the first digits together would fail: wait here."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            connection.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)
