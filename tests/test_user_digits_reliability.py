"""The user-digit store under faults, on a real SQLite file: two writers, a kill, bad imports, damage.

RELIABILITY.md ("Your digits") maps each guarantee to the test that holds it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest

from tests.kit.cli import ROOT, cli, one_line
from training.runs.user_digit_records import NewDigit
from training.runs.user_digits import UserDigitStore

pytestmark = pytest.mark.reliability

# A writer in its own process: `count` digits, one transaction each (as the Draw page saves), or
# batches of `count` digits in an endless loop (as imports do) until it is killed.
WRITER = """
import sys
import numpy as np
from training.runs.user_digits import NewDigit, UserDigitStore
path, seed, count, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
store = UserDigitStore(path)
rng = np.random.default_rng(seed)
drawing = bytes(rng.integers(0, 256, 4000, dtype=np.uint8))
def digit(n):
    return NewDigit(rng.integers(0, 256, (28, 28), dtype=np.uint8), n % 10, drawing_png=drawing,
                    prediction=n % 10, probabilities=[0.1] * 10, run_id=f"writer-{seed}")
print("ready", flush=True)
sys.stdin.readline()
if mode == "one-by-one":
    for n in range(count):
        store.add(digit(n))
else:
    batch = 0
    while True:
        digits = [digit(n) for n in range(count)]
        print(f"writing {batch}", flush=True)  # the parent kills as soon as it reads this
        store.add_many(digits)
        batch += 1
"""


# Fault injection, not a measurement: how long after a batch starts its writer is killed.
KILL_DELAYS_S = [0.0, 0.02, 0.05, 0.1]


def start_writer(path, seed: int, count: int, mode: str) -> subprocess.Popen:
    env = dict(os.environ)
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(seed), str(count), mode],
                             cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


def test_two_processes_saving_at_once_lose_nothing(tmp_path):
    path = tmp_path / "user_digits.sqlite3"
    writers = [start_writer(path, seed, 150, "one-by-one") for seed in (1, 2)]
    for writer in writers:  # both start together, each saving 150 digits one transaction at a time
        writer.stdin.write("go\n")
        writer.stdin.flush()
    for writer in writers:
        assert writer.wait(timeout=300) == 0
    store = UserDigitStore(path)
    saved = store.digits()
    assert len(saved) == 300
    assert sorted(d.run_id for d in saved) == ["writer-1"] * 150 + ["writer-2"] * 150
    # The held-out choice stayed exact although the saves interleaved: the 2nd, 7th, … 27th of each label.
    assert store.held_out_counts() == {d: 6 for d in range(10)}
    store.check()


def test_the_first_save_waits_for_another_program_that_has_the_new_file_open(tmp_path):
    """Two programs saving the first digits together: the one that finds the new file in use
    waits, as for any busy moment, instead of answering "busy" (SQLite refuses the switch to its
    write-ahead journal at once, without waiting, while another connection holds the file)."""
    import sqlite3

    path = tmp_path / "user_digits.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another program in the middle of writing the new file
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    try:
        assert UserDigitStore(path).add(NewDigit(np.full((28, 28), 255, np.uint8), 3)) is not None
    finally:
        time.sleep(0.6)
        other.close()
    assert [digit.label for digit in UserDigitStore(path).digits()] == [3]


def test_a_writer_killed_mid_write_leaves_a_readable_database_with_whole_batches_only(tmp_path):
    path = tmp_path / "user_digits.sqlite3"
    batch = 2000  # about 10 MB per transaction: the kill lands inside it
    committed = 0
    for kill in range(len(KILL_DELAYS_S)):
        writer = start_writer(path, 10 + kill, batch, "batches")
        watchdog = threading.Timer(120, writer.kill)
        watchdog.start()
        try:
            writer.stdin.write("go\n")
            writer.stdin.flush()
            # Killed as it writes its first batch, or its second, at several points into the write.
            while writer.stdout.readline().strip() != f"writing {kill % 2}":
                pass
            time.sleep(KILL_DELAYS_S[kill])
            os.kill(writer.pid, signal.SIGKILL)
            writer.wait(timeout=60)
        finally:
            watchdog.cancel()
        store = UserDigitStore(path)
        store.check()
        committed += kill % 2
        total = sum(store.counts().values())
        assert total % batch == 0 and total >= committed * batch, total  # whole batches, never half of one
        x, y, ids = store.arrays()
        assert len(x) == len(y) == len(ids) == total
    # And the next writer simply goes on.
    assert store.add(NewDigit(np.full((28, 28), 255, np.uint8), 8)) is not None
    assert store.clear() == total + 1


# --- Bad imports from the command line: one line each, nothing written ------------------------------


def bomb_zip(path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("1_1.png", b"\0" * (40 * 10**6))


def npz(path, **arrays) -> None:
    with open(path, "wb") as file:
        np.savez(file, **arrays)


def test_malformed_imports_are_refused_in_one_line_each_with_nothing_written(tmp_path, mnist):
    database = tmp_path / "user_digits.sqlite3"
    store = UserDigitStore(database)
    store.add_many([])  # an existing database holding nothing...
    x, y = mnist.x_test[:20], mnist.y_test[:20]
    npz(tmp_path / "mine.npz", x=x, y=y)
    assert cli("training", "user-digits", "--db", str(database), "import",
               str(tmp_path / "mine.npz")).returncode == 0  # ...then 20 good digits
    before = database.read_bytes()

    npz(tmp_path / "shape.npz", x=mnist.x_test[:5, :20], y=mnist.y_test[:5])
    npz(tmp_path / "labels.npz", x=mnist.x_test[20:25], y=np.array([1, 2, 3, 10, 4]))
    (tmp_path / "text.npz").write_text("not an npz")
    bomb_zip(tmp_path / "bomb.zip")
    expected = {"shape.npz": "x has shape (5, 20, 28)", "labels.npz": "label 10 at index 3",
                "text.npz": "is not an .npz file", "bomb.zip": "zip bomb"}
    for name, message in expected.items():
        result = cli("training", "user-digits", "--db", str(database), "import", str(tmp_path / name))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert len(lines) == 2 and message in lines[0] and str(tmp_path / name) in lines[0], result.stderr
        assert lines[1] == f"Nothing was imported from {tmp_path / name}."
    assert sum(store.counts().values()) == 20
    assert database.read_bytes() == before


def test_a_damaged_database_is_one_line_naming_it_on_the_command_line(tmp_path, mnist):
    database = tmp_path / "user_digits.sqlite3"
    database.write_bytes(b"SQLite format 2\0" + bytes(5000))
    for action in (["list"], ["export", str(tmp_path / "out.npz")]):
        result = cli("training", "user-digits", "--db", str(database), *action)
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert line.startswith("error: ") and str(database) in line and "damaged" in line
    assert not (tmp_path / "out.npz").exists()
