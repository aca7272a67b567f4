"""The user-digit store on a real SQLite file, and its import/export formats (.npz, zip, folder)."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import numpy as np
import pytest
from PIL import Image

from training.runs.user_digit_records import NewDigit
from training.runs.user_digits import SCHEMA_VERSION, UserDigitsError, UserDigitStore, default_path
from training.runs.user_digits_io import ImportRefused, export_to, import_into


@pytest.fixture
def store(tmp_path):
    return UserDigitStore(tmp_path / "user_digits.sqlite3")


def digits(images: np.ndarray, labels: np.ndarray, source: str = "import") -> list[NewDigit]:
    return [NewDigit(image, int(label), source=source) for image, label in zip(images, labels, strict=True)]


def test_it_lives_next_to_the_model_store_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_STUDIO_USER_DIGITS", raising=False)
    monkeypatch.setenv("MNIST_STUDIO_MODELS", str(tmp_path / "models"))
    assert default_path() == tmp_path / "models" / "user_digits.sqlite3"
    assert default_path(tmp_path / "other") == tmp_path / "other" / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(tmp_path / "mine.db"))
    assert default_path() == tmp_path / "mine.db"


def test_a_saved_digit_reads_back_whole_in_a_wal_database(store, mnist):
    probabilities = np.full(10, 0.01)
    probabilities[7] = 0.91
    digit_id = store.add(NewDigit(mnist.x_test[0] / 255.0, 7, drawing_png=b"\x89PNG fake", prediction=7,
                                  probabilities=probabilities, run_id="run-1", source="draw"))
    (saved,) = store.digits()
    assert saved.digit_id == digit_id and saved.label == 7 and saved.prediction == 7
    assert np.array_equal(saved.image28, mnist.x_test[0]) and saved.image28.dtype == np.uint8
    assert saved.probabilities == pytest.approx(probabilities.tolist())
    assert saved.run_id == "run-1" and saved.source == "draw" and saved.created_at.endswith("+00:00")
    assert store.drawing_png(digit_id) == b"\x89PNG fake"
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reading_an_absent_database_creates_nothing(store):
    assert store.counts() == dict.fromkeys(range(10), 0)
    assert store.digits() == [] and store.arrays()[0].shape == (0, 28, 28)
    assert not store.path.exists()


def test_the_same_image_is_saved_once(store, mnist):
    assert store.add(NewDigit(mnist.x_test[0], 7)) is not None
    assert store.add(NewDigit(mnist.x_test[0], 7)) is None
    report = store.add_many(digits(mnist.x_test[:3], mnist.y_test[:3]))
    assert len(report.added) == 2 and report.duplicates == 1
    assert sum(store.counts().values()) == 3


def test_the_2nd_digit_of_each_label_then_every_5th_is_held_out_and_deletes_do_not_shift_it(store, mnist):
    store.add_many(digits(mnist.x_train[:600], mnist.y_train[:600]))
    counts, held_out = store.counts(), store.held_out_counts()
    assert held_out == {d: 1 + (counts[d] - 2) // 5 for d in range(10)}
    sevens = store.digits(7)
    assert [d.held_out for d in sevens] == [(n + 1) % 5 == 2 for n in range(len(sevens))]
    # Deleting a trainable digit never turns another one into a held-out one, or back.
    store.delete(sevens[0].digit_id)
    assert [d.held_out for d in store.digits(7)] == [d.held_out for d in sevens[1:]]
    _, y_held, ids_held = store.arrays(held_out=True)
    _, _, ids_train = store.arrays(held_out=False)
    assert not set(ids_held) & set(ids_train) and len(ids_held) + len(ids_train) == 599
    assert np.bincount(y_held, minlength=10).tolist() == [held_out[d] for d in range(10)]


def test_two_of_a_digit_give_a_measure_and_an_older_database_catches_up(store, mnist):
    """Two of each digit: one trained on, one measured. A database saved under the old rule (every
    5th held out) holds out the newest of each digit it has two or more of, once, when opened."""
    x, y = mnist.x_train[:400], mnist.y_train[:400]
    pairs = [int(i) for digit in range(10) for i in np.flatnonzero(y == digit)[:2]]
    store.add_many(digits(x[pairs], y[pairs]))
    assert store.held_out_counts() == dict.fromkeys(range(10), 1)
    assert [d.held_out for d in store.digits(3)] == [False, True]

    old = UserDigitStore(store.path.parent / "old.sqlite3")
    threes, sevens = ([int(i) for i in np.flatnonzero(y == digit)[:4]] for digit in (3, 7))
    old.add_many(digits(x[threes[:3] + sevens[:1]], y[threes[:3] + sevens[:1]]))
    with sqlite3.connect(old.path) as connection:  # as the old rule (schema 1) left them
        connection.execute("UPDATE digits SET held_out = 0")
        connection.execute("PRAGMA user_version = 1")
    # Opened again: the newest of the three 3s is held out; one 7 alone gives no measure.
    assert old.held_out_counts() == {**dict.fromkeys(range(10), 0), 3: 1}
    assert [d.held_out for d in old.digits(3)] == [False, False, True]
    old.add_many(digits(x[[threes[3], sevens[1]]], y[[threes[3], sevens[1]]]))
    assert [d.held_out for d in old.digits(3)] == [False, False, True, False]
    assert [d.held_out for d in old.digits(7)] == [False, True]


def test_bad_digits_are_refused_and_nothing_of_the_batch_is_written(store, mnist):
    good = digits(mnist.x_test[:5], mnist.y_test[:5])
    for bad, message in [(NewDigit(mnist.x_test[5], 10), "0..9"), (NewDigit(mnist.x_test[5], -1), "0..9"),
                         (NewDigit(mnist.x_test[5][:27], 3), "28×28"),
                         (NewDigit(mnist.x_test[5] * 2.0, 3), "0..1")]:
        with pytest.raises(ValueError, match=message):
            store.add_many([*good, bad])
    assert store.digits() == []


def test_delete_and_clear(store, mnist):
    store.add_many(digits(mnist.x_test[:20], mnist.y_test[:20]))
    first = store.digits()[0]
    assert store.delete(first.digit_id) and not store.delete(first.digit_id)
    assert store.clear() == 19 and store.digits() == []
    store.add(NewDigit(mnist.x_test[0], 7))  # the held-out count starts again after a clear
    assert store.held_out_counts()[7] == 0


def test_an_older_schema_is_migrated_and_a_newer_one_refused(tmp_path, mnist):
    old = tmp_path / "old.sqlite3"
    sqlite3.connect(old).close()  # version 0: an empty file from an earlier start
    store = UserDigitStore(old)
    store.add(NewDigit(mnist.x_test[0], 7))
    assert [d.label for d in store.digits()] == [7]
    with sqlite3.connect(old) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UserDigitsError, match="newer MNIST Studio") as error:
        store.counts()
    assert str(old) in str(error.value)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_file_is_one_clear_error_naming_it(store, mnist, damage):
    store.add_many(digits(mnist.x_train[:2000], mnist.y_train[:2000]))
    data = store.path.read_bytes()
    store.path.write_bytes(b"not a database " * 400 if damage == "garbage" else data[:len(data) // 3])
    with pytest.raises(UserDigitsError) as error:
        store.arrays()
        store.check()
    message = str(error.value)
    assert str(store.path) in message and "damaged" in message and "\n" not in message


# --- Import and export -----------------------------------------------------------------------------


def test_npz_and_zip_exports_import_back_as_the_same_digits_and_duplicates_are_skipped(store, tmp_path,
                                                                                       mnist):
    store.add_many(digits(mnist.x_test[:50], mnist.y_test[:50]))
    assert export_to(store, tmp_path / "mine.npz") == 50 and export_to(store, tmp_path / "mine.zip") == 50
    with np.load(tmp_path / "mine.npz") as data:
        assert data["x"].dtype == np.uint8 and data["x"].shape == (50, 28, 28)
        assert np.array_equal(data["x"], mnist.x_test[:50]) and np.array_equal(data["y"], mnist.y_test[:50])
    with zipfile.ZipFile(tmp_path / "mine.zip") as archive:
        names = archive.namelist()
    assert names[0] == f"00001_{mnist.y_test[0]}.png" and len(names) == 50

    for source in ("mine.npz", "mine.zip"):
        other = UserDigitStore(tmp_path / f"{source}.sqlite3")
        result = import_into(other, tmp_path / source)
        assert (result.added, result.duplicates) == (50, 0)
        x, y, _ids = other.arrays()
        assert np.array_equal(x, mnist.x_test[:50]) and np.array_equal(y, mnist.y_test[:50])
        again = import_into(other, tmp_path / source)
        assert (again.added, again.duplicates) == (0, 50)


def test_a_folder_of_photos_named_by_digit_is_imported_like_drawings(store, tmp_path, mnist):
    folder = tmp_path / "photos"
    folder.mkdir()
    # Dark ink on light paper, larger than 28×28: preprocessed as the Draw page would.
    Image.fromarray(255 - mnist.x_test[0]).resize((200, 200)).save(folder / "scan_7.png")
    Image.fromarray(255 - mnist.x_test[1]).resize((90, 90)).convert("RGB").save(folder / "photo_2.jpg")
    (folder / ".DS_Store").write_bytes(b"\0\1")
    result = import_into(store, folder)
    assert result.added == 2
    saved = {d.label: d for d in store.digits()}
    assert set(saved) == {2, 7}
    assert saved[7].image28.max() == 255 and saved[7].image28[0].max() == 0  # ink white on black, centred
    assert store.drawing_png(saved[7].digit_id).startswith(b"\x89PNG")


def test_an_import_with_one_bad_file_writes_nothing_and_names_every_bad_file(store, tmp_path, mnist):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(mnist.x_test[0]).save(folder / "1_7.png")
    (folder / "2_3.png").write_bytes(b"")
    (folder / "notes.txt").write_text("my digits")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(folder / "3_4.png")
    with pytest.raises(ImportRefused) as refused:
        import_into(store, folder)
    problems = refused.value.problems
    assert len(problems) == 3 and all("\n" not in line for line in problems)
    assert "2_3.png is empty" in problems[0]
    assert "3_4.png" in problems[1] and "blank" in problems[1]
    assert "notes.txt" in problems[2] and "_<digit>" in problems[2]
    assert store.digits() == [] and not store.path.exists()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_a_malformed_npz_is_refused_in_one_line_with_nothing_written(store, tmp_path, mnist):
    x, y = mnist.x_test[:10], mnist.y_test[:10]
    cases = {
        "shape.npz": (npz_bytes(x=x[:, :27], y=y), "x has shape (10, 27, 28)"),
        "float.npz": (npz_bytes(x=x / 255.0, y=y), "x holds float64; expected uint8"),
        "count.npz": (npz_bytes(x=x, y=y[:9]), "y has shape (9,); expected (10,)"),
        "labels.npz": (npz_bytes(x=x, y=np.where(np.arange(10) == 4, 10, y)), "label 10 at index 4"),
        "negative.npz": (npz_bytes(x=x, y=y.astype(np.int64) - 1), "label -1 at index"),
        "names.npz": (npz_bytes(images=x, labels=y), "has no array 'x'"),
        "objects.npz": (npz_bytes(x=x, y=np.array([str(v) for v in y], dtype=object)), "Python objects"),
        "text.npz": (b"x,y\n1,2\n", "is not an .npz file"),
        "empty.npz": (b"", "is not an .npz file"),
    }
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImportRefused) as refused:
            import_into(store, tmp_path / name)
        assert expected in refused.value.problems[0], name
        assert str(tmp_path / name) in refused.value.problems[0]
    assert not store.path.exists()


def test_zip_bombs_are_refused_from_the_directory_before_anything_is_decompressed(store, tmp_path,
                                                                                  monkeypatch):
    zeros = b"\0" * (50 * 10**6)
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("1_1.png", zeros)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                      "shape": (len(zeros) // 784, 28, 28)})
        archive.writestr("x.npy", header.getvalue() + zeros)
        archive.writestr("y.npy", npz_bytes())  # never read
    assert (tmp_path / "bomb.zip").stat().st_size < 10**6

    def no_decompressing(*args, **kwargs):
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_decompressing)
    for name in ("bomb.zip", "bomb.npz"):
        with pytest.raises(ImportRefused, match="zip bomb"):
            import_into(store, tmp_path / name)
    assert not store.path.exists()


def test_an_export_replaces_the_file_whole(store, tmp_path, mnist):
    target = tmp_path / "out.npz"
    target.write_bytes(b"an older export")
    store.add_many(digits(mnist.x_test[:5], mnist.y_test[:5]))
    export_to(store, target)
    with np.load(target) as data:
        assert len(data["y"]) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.npz")] == []
    with pytest.raises(ValueError, match=r"\.npz or \.zip"):
        export_to(store, tmp_path / "out.csv")


def test_before_fine_tuning_the_advice_says_what_it_is_measured_on_and_how_many_more_would_help():
    from training.jobs.finetune import numbers_table
    from training.runs.holdout import MEANINGFUL_HELD_OUT, measure_advice, saves_until_meaningful

    none = dict.fromkeys(range(10), 0)
    # One of each: the next of each is held out; then four more each bring a second held out.
    assert saves_until_meaningful(dict.fromkeys(range(10), 1), none) == 10 + 10 * 5
    two_each, one_held = dict.fromkeys(range(10), 2), dict.fromkeys(range(10), 1)
    assert saves_until_meaningful(two_each, one_held) == 50
    advice = measure_advice(two_each, one_held)
    assert "your 10 held-out digits" in advice and "10 points" in advice and "50 more digits" in advice
    assert "None of your digits is held out yet" in measure_advice(dict.fromkeys(range(10), 1), none)
    enough = dict.fromkeys(range(10), 2 * 5)
    assert saves_until_meaningful(enough, dict.fromkeys(range(10), 2)) == 0
    assert measure_advice(enough, dict.fromkeys(range(10), 2)).endswith(
        f"your {MEANINGFUL_HELD_OUT} held-out digits, never trained on.")

    measured = numbers_table(
        {"user_held_out": 10, "user_held_out_accuracy": 0.6, "mnist_test_accuracy": 0.98},
        {"user_held_out_accuracy": 0.9, "mnist_test_accuracy": 0.97})
    assert measured[0] == "your held-out digits (10): 60.00% → 90.00%"
    unmeasured = numbers_table(
        {"user_held_out": 0, "user_held_out_accuracy": None, "mnist_test_accuracy": 0.98},
        {"user_held_out_accuracy": None, "mnist_test_accuracy": 0.97})
    assert "none yet, so not measured" in unmeasured[0] and not any("n/a" in line for line in unmeasured)
