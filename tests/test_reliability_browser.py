"""Issue 6 in a real browser: two sessions training at once, Stop then keep or discard, a tab closed mid-run.

Each test serves the dashboard (`streamlit run`) against a private copy of the trained store and
checks the store from outside afterwards with `ModelStore.scan()`: every run whole, none damaged,
the active pointer valid JSON. Waits in the browser are `expect()` with timeouts.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request

import pytest

from tests.kit import dashboard_browser as browser_kit
from training.runs.store import ACTIVE_FILE, ModelStore

pytestmark = [pytest.mark.reliability, pytest.mark.browser, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

SCRIPT_TIMEOUT_MS = 60_000
TRAIN_TIMEOUT_MS = 300_000


def click_train(page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)


def wait_until_training(page) -> None:
    """Until the progress bar counts epochs and batches (TensorFlow loaded, training under way)."""
    counting = page.get_by_test_id("stProgress").get_by_text(re.compile(r"Epoch \d+/"))
    expect(counting).to_be_visible(timeout=TRAIN_TIMEOUT_MS)


def train_then_stop(page) -> None:
    """Start training, stop it once it runs, and wait for the keep-or-discard question."""
    click_train(page)
    wait_until_training(page)
    press_stop(page)
    expect(page.get_by_text("Keep it?")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)


def press_stop(page) -> None:
    """One click on Stop takes: the button turns disabled (or the run has already ended)."""
    page.get_by_role("button", name="Stop").click()
    taken = page.get_by_role("button", name="Stop", disabled=True).or_(page.get_by_text("Keep it?"))
    expect(taken.first).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)


def expect_training_to_finish(page) -> None:
    """Until the run is saved; fails at once, with the page's reason, if it failed instead."""
    finished, failed = page.get_by_text("finished: test accuracy"), page.get_by_text("Training failed")
    expect(finished.or_(failed).first).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
    assert failed.count() == 0, failed.first.inner_text()
    expect(finished).to_be_visible()


def expect_no_exception(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def new_runs(store: ModelStore, before: set[str]) -> list:
    """Runs saved since `before`; fails if the store lists any damaged run."""
    runs, problems = store.scan()
    assert problems == []
    return [run for run in runs if run.run_id not in before]


def active_pointer(store: ModelStore) -> str:
    """The run id in active.json, which must be valid JSON naming a whole run."""
    run_id = json.loads((store.root / ACTIVE_FILE).read_text())["run_id"]
    store.get(run_id)
    return run_id


def test_two_sessions_training_at_once_both_save_whole_runs_and_each_sees_both(served_store, new_page):
    url, store = served_store
    before = {run.run_id for run in store.runs()}
    pages = [new_page(url), new_page(url)]
    for page in pages:
        browser_kit.set_epochs(page, 1)
    # Both Train clicks land before either run ends (TensorFlow alone takes seconds to load).
    for page in pages:
        page.get_by_role("button", name="Train", exact=True).click()
    for page in pages:  # every session sees both trainings end, each announced once
        expect(page.get_by_text("finished: test accuracy")).to_have_count(2, timeout=TRAIN_TIMEOUT_MS)
        expect_no_exception(page)

    saved = new_runs(store, before)
    assert len(saved) == 2
    assert {len(run.record.history) for run in saved} == {1}
    assert not any(run.record.cancelled for run in saved)
    for run in saved:
        store.load_model(run.run_id)
    assert active_pointer(store) in {run.run_id for run in saved}
    texts = " ".join(page.get_by_text("finished: test accuracy").all_inner_texts()[0] for page in pages)
    assert any(run.run_id in texts for run in saved)


def test_stop_then_discard_saves_nothing_and_stop_then_keep_saves_a_cancelled_run(served_store, new_page):
    url, store = served_store
    before = {run.run_id for run in store.runs()}
    active_before = active_pointer(store)
    page = new_page(url)
    browser_kit.set_epochs(page, 50)

    train_then_stop(page)
    page.get_by_role("button", name="Discard it").click()
    expect(page.get_by_text("Discarded the partial model")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect_no_exception(page)
    assert new_runs(store, before) == []

    train_then_stop(page)
    page.get_by_role("button", name="Keep the partial model").click()
    expect(page.get_by_text("Kept the partial model as")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
    expect_no_exception(page)

    kept = new_runs(store, before)
    assert len(kept) == 1
    assert kept[0].record.cancelled is True
    assert kept[0].record.epochs_completed < 50
    assert active_pointer(store) == active_before  # a partial model replaces the active one only when asked
    store.load_model(kept[0].run_id)


def test_a_tab_closed_mid_training_leaves_the_server_and_the_store_whole(served_store, browser, new_page):
    url, store = served_store
    before = {run.run_id for run in store.runs()}
    context = browser.new_context(viewport=browser_kit.VIEWPORT)
    page = context.new_page()
    page.goto(url)
    browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
    browser_kit.set_epochs(page, 3)
    click_train(page)
    wait_until_training(page)
    context.close()

    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        assert response.read().decode().strip() == "ok"

    # A new session draws and gets an answer while the abandoned training may still run.
    drawer = new_page(f"{url}/draw")
    browser_kit.stroke(drawer, browser_kit.one_points(), SCRIPT_TIMEOUT_MS)
    prediction = drawer.locator(browser_kit.PREDICTION)
    expect(prediction.get_by_text("Predicted digit:")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect(prediction.get_by_test_id("stVegaLiteChart")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect_no_exception(drawer)

    # The abandoned run ends by itself: eventually one whole new run, or none; never a damaged one.
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    saved = new_runs(store, before)
    while not saved and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the store on disk, not the page
        saved = new_runs(store, before)
    assert len(saved) <= 1
    if saved:
        assert len(saved[0].record.history) == 3
        store.load_model(saved[0].run_id)
    active_pointer(store)

    # The server still answers a new session after the training is over.
    browser_kit.wait_for_script(drawer, SCRIPT_TIMEOUT_MS)
    browser_kit.clear(drawer, SCRIPT_TIMEOUT_MS)
    browser_kit.stroke(drawer, browser_kit.zero_points(), SCRIPT_TIMEOUT_MS)
    expect(prediction.get_by_text("Predicted digit:")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect_no_exception(drawer)


SESSIONS_DRAWING = 6


def test_sessions_drawing_at_once_all_get_answers_and_each_clear_empties_only_its_own_canvas(
        served_store, new_page):
    url, _ = served_store
    pages = [new_page(f"{url}/draw") for _ in range(SESSIONS_DRAWING)]
    for _ in range(2):
        # Every session draws before any answer is awaited, so their script runs overlap.
        for page in pages:
            browser_kit.stroke(page, browser_kit.one_points(), SCRIPT_TIMEOUT_MS)
        for page in pages:
            answer = page.locator(browser_kit.PREDICTION)
            expect(answer.get_by_text("Predicted digit: 1")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
            expect(answer.get_by_test_id("stVegaLiteChart")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
            browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        # Half of them clear: only their canvases empty; the others keep their answers.
        clearing, keeping = pages[::2], pages[1::2]
        for page in clearing:
            page.locator(".st-key-draw_clear").get_by_role("button").click()
        for page in clearing:
            browser_kit.wait_for_cleared(page, SCRIPT_TIMEOUT_MS)
        for page in keeping:
            expect(page.locator(browser_kit.PREDICTION).get_by_text("Predicted digit: 1")).to_be_visible()
            browser_kit.clear(page, SCRIPT_TIMEOUT_MS)
    for page in pages:
        expect_no_exception(page)
