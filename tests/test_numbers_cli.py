"""Reading numbers from the command line: `python -m training predict --number`, as JSON lines and
as text lines that say where the doubt is, with the errors a file can give."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.kit.cli import cli
from tests.kit.composed_numbers import side_by_side
from tests.kit.nondigits import nondigits_of_kind
from tests.kit.number_images import first_of


@pytest.fixture(scope="module")
def predictor(trained_store):
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)


@pytest.fixture
def number_files(tmp_path, mnist):
    """2026 (black on white), a blank page, 13 digits, a file that is not an image, 4?2 with a letter."""
    files = {name: tmp_path / f"{name}.png" for name in ("2026", "blank", "thirteen", "text", "letter")}
    digits = [first_of(mnist, int(d)) for d in "2026"]
    Image.fromarray(255 - side_by_side(digits)).save(files["2026"])
    Image.new("L", (300, 80), 255).save(files["blank"])
    Image.fromarray(side_by_side([first_of(mnist, d % 10) for d in range(13)])).save(files["thirteen"])
    files["text"].write_text("not an image")
    return files


@pytest.mark.slow
def test_cli_number_json_lines(store_copy, number_files):
    names = ("2026", "blank", "thirteen", "text")
    result = cli("training", "predict", "--number", "--json", *(str(number_files[n]) for n in names),
                 env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 1, result.stderr  # some files held no number that could be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(number_files[n]) for n in names]
    number = lines[0]
    expected = {"file", "number", "unsure", "digits"} | ({"message"} if number["unsure"] else set())
    assert set(number) == expected
    assert len(number["digits"]) == 4
    assert number["number"] == "".join(str(digit["digit"]) for digit in number["digits"])
    width, height = Image.open(number_files["2026"]).size
    for digit in number["digits"]:
        assert {"digit", "probabilities", "box", "unsure", "top_two"} <= set(digit)
        assert sum(digit["probabilities"]) == pytest.approx(1.0)
        assert int(np.argmax(digit["probabilities"])) == digit["digit"]
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert [digit["box"][0] for digit in number["digits"]] == sorted(d["box"][0] for d in number["digits"])
    assert lines[1] == {"file": str(number_files["blank"]), "error": "empty"}
    assert lines[2]["error"] == "too_many_parts" and "at most 12 digits" in lines[2]["message"]
    assert lines[3]["error"] == "unreadable" and "not a readable image" in lines[3]["message"]


@pytest.mark.slow
def test_cli_number_lines_say_where_the_doubt_is(store_copy, predictor, number_files, mnist):
    from training.reading.numbers import read_number

    # The first letter that makes "4?2" unsure, as the library reads it.
    for mark in nondigits_of_kind("letter", 15):
        image = side_by_side([first_of(mnist, 4), mark, first_of(mnist, 2)])
        Image.fromarray(image).save(number_files["letter"])
        reading = read_number(predictor, number_files["letter"])
        if reading.unsure:
            break
    files = [str(number_files[n]) for n in ("2026", "letter", "blank")]
    result = cli("training", "predict", "--number", *files, env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 0, result.stderr
    first, second, third = result.stdout.splitlines()
    assert first.startswith(f"{files[0]}: ") and first.removeprefix(f"{files[0]}: ")[:4].isdigit()
    assert second == f"{files[1]}: {reading.number} ({reading.message})"
    assert third == f"{files[2]}: empty drawing, no digit to read"
    result = cli("training", "predict", "--number", "--explain", files[0],
                 env={"MNIST_STUDIO_MODELS": str(store_copy.root)})
    assert result.returncode == 2 and "--explain reads one digit" in result.stderr
