"""Issue 11 in a real browser: a training is a job of the store, seen and stopped from any session.

The dashboard is served (`streamlit run`) against a private copy of the trained store; trainings
run in processes of their own. Every check is what a user sees on the page, plus the store on disk.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.kit import dashboard_browser as browser_kit
from training.core.events import read_events
from training.jobs.store import EVENTS_FILE, JobStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

SCRIPT_TIMEOUT_MS = 60_000
TRAIN_TIMEOUT_MS = 300_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def expect_training(page) -> None:
    """The live panel counts epochs and batches and offers Stop."""
    counting = page.get_by_test_id("stProgress").get_by_text(re.compile(r"Epoch \d+/\d+ · batch"))
    expect(counting).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Stop")).to_be_enabled()


def expect_no_exception(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_training_survives_a_reload_shows_in_a_second_tab_and_stops_from_there(served_store, new_page,
                                                                                 tmp_path):
    url, store = served_store
    active_before = store.active_id()
    first = new_page(url)
    browser_kit.start_training(first, 50)
    expect_training(first)
    expect(first.get_by_role("button", name="Train", exact=True)).to_be_disabled()

    first.reload()
    browser_kit.wait_for_script(first, SCRIPT_TIMEOUT_MS)
    expect_training(first)  # after a reload: the same progress and Stop

    second = new_page(url)
    expect_training(second)
    second.screenshot(path=tmp_path / "second-tab.png", full_page=True)
    second.get_by_role("button", name="Stop").click()
    for page in (first, second):  # stopped within a batch, seen in both sessions
        expect(page.get_by_text("Keep it?")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
        expect(page.get_by_text(re.compile(r"Stopped in epoch \d+ at batch \d+/\d+"))).to_be_visible()

    first.reload()  # keep works after a reload too
    browser_kit.wait_for_script(first, SCRIPT_TIMEOUT_MS)
    first.get_by_role("button", name="Keep the partial model").click()
    kept_news = re.compile(r"Kept the partial model as .* \(stopped in epoch \d+ at batch \d+/\d+\)")
    expect(first.get_by_text(kept_news)).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect_no_exception(first)
    runs, problems = store.scan()
    assert problems == [] and len(runs) == 2
    kept = runs[0]
    assert kept.record.cancelled is True and kept.record.stopped_at[0] >= 1
    assert store.active_id() == active_before  # a partial model replaces the active one only when asked


def test_a_choice_of_active_model_made_while_training_stands(served_store, new_page):
    url, store = served_store
    chosen = store.active_id()
    page = new_page(url)
    browser_kit.start_training(page, 2)
    expect_training(page)
    store.set_active(chosen)  # what the Active model menu does, in any session, while it trains

    news = page.get_by_text("finished: test accuracy")
    expect(news).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(news).to_contain_text("not made active")
    expect_no_exception(page)
    assert store.active_id() == chosen
    assert len(store.runs()) == 2


def test_a_command_line_training_shows_live_on_the_page_and_is_stopped_from_it(served_store, new_page):
    url, store = served_store
    page = new_page(url)
    env = dict(os.environ)
    cli = subprocess.Popen([sys.executable, "-m", "training", "train", "--arch", "mlp", "--epochs", "200",
                            "--limit", "3000", "--models", str(store.root)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        expect_training(page)
        expect(page.get_by_text("from the command line")).to_be_visible()
        page.get_by_role("button", name="Stop").click()
        out, err = cli.communicate(timeout=120)
    finally:
        cli.kill()
    assert cli.returncode == 130, err[-2000:]
    assert "Stopped in epoch" in out and "Traceback" not in err
    expect(page.get_by_text("Keep it?")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect_no_exception(page)


def test_a_killed_training_leaves_the_store_whole_and_the_page_says_so(served_store, new_page):
    url, store = served_store
    before = store.runs()
    page = new_page(url)
    browser_kit.start_training(page, 50)
    expect_training(page)
    job = JobStore(store).running()[0]
    pid = next(event["pid"] for event in read_events(JobStore(store).folder(job.job_id) / EVENTS_FILE)
               if event["event"] == "started")
    os.kill(pid, signal.SIGKILL)

    expect(page.get_by_text("Training interrupted")).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
    expect_no_exception(page)
    runs, problems = store.scan()
    assert problems == [] and [run.run_id for run in runs] == [run.run_id for run in before]
