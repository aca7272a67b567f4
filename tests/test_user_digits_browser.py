"""In a real browser: draw a digit, correct its label, see it on My digits (real server, real SQLite file)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kit import dashboard_browser as browser_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000


@pytest.fixture
def served(trained_store, tmp_path, monkeypatch):
    """The dashboard on the trained store (read only here) with a private user-digit database."""
    from tests.kit.dashboard_server import serve

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    with serve(trained_store.root) as url:
        yield url, database


def test_draw_correct_the_label_and_see_it_on_my_digits(page, served):
    from training.runs.user_digits import UserDigitStore

    url, database = served
    page.goto(f"{url}/draw")
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    prediction = page.locator(browser_kit.PREDICTION)
    expect(prediction.get_by_text("Draw a digit")).to_be_visible(timeout=TIMEOUT_MS)

    # A bar drawn as a seven's stem: the model says what it says, the user says "7".
    browser_kit.stroke(page, browser_kit.one_points(), TIMEOUT_MS)
    page.wait_for_function(browser_kit.PREDICTION_SHOWN_JS, polling="raf", timeout=TIMEOUT_MS)
    expect(prediction.get_by_text("Your saved digits: none yet")).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    page.locator(".st-key-draw_label_canvas").get_by_role("radio", name="7", exact=True).click()

    # Saved, and the canvas is empty, ready for the next digit.
    expect(page.get_by_text("Saved as a 7 (seven).")).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_cleared(page, TIMEOUT_MS)
    assert [digit.label for digit in UserDigitStore(database).digits()] == [7]

    # The next drawing: confirmed with "Right"; the counter now counts the seven.
    browser_kit.stroke(page, browser_kit.zero_points(), TIMEOUT_MS)
    expect(prediction.get_by_text("Your saved digits (1)")).to_be_visible(timeout=TIMEOUT_MS)
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    right = page.locator(".st-key-draw_right_canvas").get_by_role("button")
    answer = int(right.inner_text().strip()[-1])  # "Right, it is a N": the model's answer
    right.click()
    browser_kit.wait_for_cleared(page, TIMEOUT_MS)
    assert sorted(digit.label for digit in UserDigitStore(database).digits()) == sorted([7, answer])

    page.get_by_role("link", name="My digits").click()
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    expect(page.get_by_role("heading", name="7 (seven): 1")).to_be_visible(timeout=TIMEOUT_MS)
    seven = UserDigitStore(database).digits(7)[0]
    expect(page.locator(f".st-key-my_digits_tile_{seven.digit_id}").get_by_test_id("stImage")).to_be_visible()

    # The .npz download holds both digits, ink white on black, oldest first.
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Download 2 digits as .npz").click()
    with np.load(download.value.path()) as data:
        assert data["x"].shape == (2, 28, 28) and data["x"].dtype == np.uint8
        assert data["y"].tolist() == [7, answer] and data["x"][0, 0, 0] == 0
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_fine_tune_from_my_digits_and_see_the_numbers_before_and_after(page, store_copy, tmp_path,
                                                                       monkeypatch):
    from tests.kit.dashboard_server import serve
    from tests.kit.user_style_digits import make_user_style_digits
    from training.runs.user_digit_records import NewDigit
    from training.runs.user_digits import UserDigitStore

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    x, y = make_user_style_digits(per_digit=6, seed=0)
    UserDigitStore(database).add_many(NewDigit(image28=image, label=int(label))
                                      for image, label in zip(x, y, strict=True))
    base = store_copy.active_id()
    with serve(store_copy.root) as url:
        page.goto(f"{url}/my_digits")
        browser_kit.wait_for_script(page, TIMEOUT_MS)
        page.get_by_role("button", name="Fine-tune on my digits").click()
        done = page.get_by_text("Accuracy before → after")
        expect(done).to_be_visible(timeout=300_000)
        expect(page.get_by_text("your held-out digits")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.get_by_role("link", name="Train").click()  # the new run's results: before and after
        browser_kit.wait_for_script(page, TIMEOUT_MS)
        expect(page.get_by_text(f"from {base}")).to_be_visible(timeout=TIMEOUT_MS)
        expect(page.get_by_test_id("stTable")).to_be_visible()
    assert store_copy.active_id() != base
