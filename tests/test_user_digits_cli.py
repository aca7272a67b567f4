"""`python -m training user-digits ...` as a user runs it, on a real SQLite file."""

from __future__ import annotations

import numpy as np
from PIL import Image

from tests.kit.cli import cli, one_line
from training.runs.user_digits import UserDigitStore


def user_digits(database, *args: str):
    return cli("training", "user-digits", "--db", str(database), *args)


def test_add_list_export_import_and_clear(tmp_path, mnist):
    database, other = tmp_path / "mine.sqlite3", tmp_path / "other.sqlite3"
    result = user_digits(database, "list")
    assert result.returncode == 0 and "No saved digits" in result.stdout and not database.exists()

    Image.fromarray(255 - mnist.x_test[0]).resize((120, 120)).save(tmp_path / "seven.png")
    Image.fromarray(255 - mnist.x_test[17]).resize((120, 120)).save(tmp_path / "another.png")
    result = user_digits(database, "add", str(tmp_path / "seven.png"), str(tmp_path / "another.png"),
                         "--label", "7")
    assert result.returncode == 0, result.stderr
    assert "Saved 2 digits labelled 7" in result.stdout
    result = user_digits(database, "add", str(tmp_path / "seven.png"), "--label", "7")
    assert "1 already saved, skipped" in result.stdout

    np.savez(tmp_path / "in.npz", x=mnist.x_test[1:41], y=mnist.y_test[1:41])
    result = user_digits(database, "import", str(tmp_path / "in.npz"))
    assert result.returncode == 0 and "Imported 40 of 40 digits" in result.stdout
    listing = user_digits(database, "list").stdout.splitlines()
    assert listing[0].startswith("42 digits in") and "held out" in listing[0]
    # --db after the action works too, and names the same database.
    after = cli("training", "user-digits", "list", "--db", str(database))
    assert after.returncode == 0 and after.stdout.splitlines() == listing
    sevens = 2 + int((mnist.y_test[1:41] == 7).sum())
    assert listing[2 + 7].split() == ["7", str(sevens), str(sevens // 5)]

    assert user_digits(database, "export", str(tmp_path / "out.zip")).returncode == 0
    result = user_digits(other, "import", str(tmp_path / "out.zip"))
    assert result.returncode == 0 and "Imported 42 of 42 digits" in result.stdout
    assert np.array_equal(UserDigitStore(other).arrays()[0], UserDigitStore(database).arrays()[0])

    refused = user_digits(database, "clear")
    assert refused.returncode == 2 and "--yes" in one_line(refused.stderr)
    assert sum(UserDigitStore(database).counts().values()) == 42
    result = user_digits(database, "clear", "--yes")
    assert result.returncode == 0 and "Deleted 42 digits" in result.stdout
    assert UserDigitStore(database).digits() == []


def test_bad_files_and_arguments_are_one_line_each_and_nothing_is_saved(tmp_path, mnist):
    database = tmp_path / "mine.sqlite3"
    Image.fromarray(mnist.x_test[0]).resize((60, 60)).save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = user_digits(database, "add", str(tmp_path / "good.png"), str(tmp_path / "broken.png"),
                         "--label", "7")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 2 and "broken.png" in lines[0] and "Nothing was saved" in lines[1]
    assert UserDigitStore(database).digits() == []

    for label in ("12", "x", "-1"):
        result = user_digits(database, "add", str(tmp_path / "good.png"), "--label", label)
        assert result.returncode == 2 and "0..9" in one_line(result.stderr)
    result = user_digits(database, "export", str(tmp_path / "out.csv"))
    assert result.returncode == 2 and ".npz or .zip" in one_line(result.stderr)
