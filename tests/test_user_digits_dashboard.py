"""Labelling on the Draw page and the My digits page, through Streamlit's AppTest, on a real SQLite file."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.kit.apptest import app, texts
from training.runs.user_digits import UserDigitStore


@pytest.fixture
def digits_db(monkeypatch, tmp_path):
    """A private user-digit database (the trained store must not be written to)."""
    path = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(path))
    return UserDigitStore(path)


def png(array: np.ndarray, size: int = 112) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).resize((size, size)).save(buffer, format="PNG")
    return buffer.getvalue()


def draw_page_with_upload(monkeypatch, trained_store, image: np.ndarray):
    pytest.importorskip("training.reading.predictor")
    at = app(monkeypatch, trained_store.root).run()
    at.switch_page("views/draw.py").run()
    at.file_uploader(key="draw_upload").upload("digit.png", png(255 - image), "image/png").run()
    assert not at.exception
    return at


def test_right_saves_the_answer_and_a_digit_button_saves_the_correction(monkeypatch, trained_store, mnist,
                                                                         digits_db):
    at = draw_page_with_upload(monkeypatch, trained_store, mnist.x_test[0])
    assert "none yet" in texts(at)
    answer = int(texts(at).split("Predicted digit: ")[1][0])
    at.button(key="draw_right_upload").click().run()
    assert not at.exception
    saved = digits_db.digits()
    assert [d.label for d in saved] == [answer]
    assert saved[0].prediction == answer and saved[0].run_id == trained_store.active_id()
    assert saved[0].source == "upload" and len(saved[0].probabilities) == 10
    assert digits_db.drawing_png(saved[0].digit_id).startswith(b"\x89PNG")
    assert f"Your saved digits (1): 1 × {answer}." in texts(at)

    # The same image again is recognised, not saved twice.
    at.button(key="draw_right_upload").click().run()
    assert len(digits_db.digits()) == 1
    assert any("already saved" in toast.value for toast in at.toast)

    # Another digit, corrected to a label of the user's choice.
    at.file_uploader(key="draw_upload").upload("other.png", png(255 - mnist.x_test[1]), "image/png").run()
    at.button_group(key="draw_label_upload").set_value(4).run()
    assert not at.exception
    assert [d.label for d in digits_db.digits()] == [answer, 4]
    assert at.button_group(key="draw_label_upload").value is None  # ready for the next one


def test_my_digits_page_shows_counts_and_deletes_one_and_all_with_confirmation(monkeypatch, tmp_path, mnist,
                                                                                digits_db):
    from training.runs.user_digit_records import NewDigit

    digits_db.add_many([NewDigit(mnist.x_test[i], int(mnist.y_test[i]), source="import") for i in range(12)])
    at = app(monkeypatch, tmp_path / "models").run()
    at.switch_page("views/my_digits.py").run()
    assert not at.exception
    counts = at.table[0].value.loc["saved"]
    assert [int(counts[str(d)]) for d in range(10)] == np.bincount(mnist.y_test[:12], minlength=10).tolist()
    first = digits_db.digits()[0]
    at.button(key=f"my_digits_delete_{first.digit_id}").click().run()
    assert not at.exception
    assert len(digits_db.digits()) == 11 and first.digit_id not in [d.digit_id for d in digits_db.digits()]

    at.button(key="my_digits_delete_all").click().run()
    assert len(digits_db.digits()) == 11  # one click only asks
    assert "Delete all 11 saved digits?" in texts(at)
    at.button(key="my_digits_delete_all_no").click().run()
    assert len(digits_db.digits()) == 11
    at.button(key="my_digits_delete_all").click().run()
    at.button(key="my_digits_delete_all_yes").click().run()
    assert not at.exception
    assert digits_db.digits() == []
    assert "Deleted 11 digits." in texts(at) and "No digits saved yet" in texts(at)


def test_my_digits_page_imports_an_npz_and_refuses_a_bad_one_writing_nothing(monkeypatch, tmp_path, mnist,
                                                                             digits_db):
    good, bad = io.BytesIO(), io.BytesIO()
    np.savez(good, x=mnist.x_test[:30], y=mnist.y_test[:30])
    np.savez(bad, x=mnist.x_test[:30], y=np.full(30, 12))
    at = app(monkeypatch, tmp_path / "models").run()
    at.switch_page("views/my_digits.py").run()
    uploader = at.file_uploader(key="my_digits_upload")
    uploader.upload("bad.npz", bad.getvalue(), "application/octet-stream").run()
    at.button(key="my_digits_import").click().run()
    assert not at.exception
    assert "label 12 at index 0 is not a digit 0..9" in at.error[0].value
    assert "Nothing was imported from bad.npz." in texts(at)
    assert digits_db.digits() == []

    uploader = at.file_uploader(key="my_digits_upload")
    uploader.upload("mine.npz", good.getvalue(), "application/octet-stream").run()
    at.button(key="my_digits_import").click().run()
    assert not at.exception
    assert "Imported 30 of 30 digits from mine.npz." in texts(at)
    x, y, _ids = digits_db.arrays()
    assert np.array_equal(x, mnist.x_test[:30]) and np.array_equal(y, mnist.y_test[:30])
    assert at.table[0].value.loc["saved"].sum() == 30


def test_a_damaged_database_is_one_line_naming_it_and_the_other_pages_still_work(monkeypatch, trained_store,
                                                                                 mnist, digits_db):
    digits_db.path.write_bytes(b"this is not an SQLite database" * 100)
    at = draw_page_with_upload(monkeypatch, trained_store, mnist.x_test[0])
    assert "Predicted digit:" in texts(at)
    assert len(at.warning) == 1 and str(digits_db.path) in at.warning[0].value
    assert "damaged" in at.warning[0].value

    at.switch_page("views/my_digits.py").run()
    assert not at.exception
    assert len(at.error) == 1 and str(digits_db.path) in at.error[0].value
    assert "\n" not in at.error[0].value

    for page in ("views/train.py", "views/export.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error


def test_a_doubtful_answer_offers_no_right_button_only_the_digit_to_save(monkeypatch, trained_store, mnist,
                                                                          digits_db):
    """"Right, it is a 2" under "This does not look like a digit" would save a dash as a 2."""
    from PIL import Image

    from tests.kit.nondigits import nondigits_of_kind
    from training.reading.for_run import load_predictor

    predictor = load_predictor(trained_store)
    dash = next(image for image in nondigits_of_kind("dash", 10)
                if predictor.classify(Image.fromarray(image, "L")).verdict.unsure)
    at = draw_page_with_upload(monkeypatch, trained_store, dash)
    shown = texts(at)
    assert "This does not look like a digit" in shown or "Not sure — it could be" in shown
    assert "Best guess:" in shown
    assert not [button for button in at.button if button.label.startswith("Right, it is")]
    assert at.button_group(key="draw_label_upload").label != "Wrong? Click the right digit"

    at.file_uploader(key="draw_upload").upload("seven.png", png(255 - mnist.x_test[0]), "image/png").run()
    assert "Predicted digit: 7" in texts(at)
    assert [button.label for button in at.button if button.label.startswith("Right")] == ["Right, it is a 7"]
    assert at.button_group(key="draw_label_upload").label == "Wrong? Click the right digit"
