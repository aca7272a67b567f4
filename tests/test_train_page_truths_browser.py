"""Issue 28 in a real browser: the Train page and My digits say what is so, in every tab.

Fine-tuning on two of each digit is measured, and says so first; a kept partial run leaves a
better active model alone; each ended job is one line in the past tense with the active model named
once, and dismissing it holds in every tab; a job's state reaches every tab, and a stop is named
where it happened; Compare opens on the two newest runs; a rename leaves the pickers on the renamed
run. The dashboard is served against a
private copy of the trained store; every check is what a person sees, plus the store on disk.
"""

from __future__ import annotations

import re

import pytest

from tests.kit import dashboard_browser as browser_kit
from tests.kit.runs import second_run
from training.core.events import append_event, read_events
from training.jobs.store import EVENTS_FILE, JobStore

pytestmark = [pytest.mark.browser]

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

SCRIPT_TIMEOUT_MS = 60_000
TRAIN_TIMEOUT_MS = 300_000
# What a tab does of its own, with no one touching it, is waited for this long: a tab that never
# notices a change made elsewhere fails, and no test measures how fast it noticed.
OTHER_TAB_TIMEOUT_MS = 15_000
PROGRESS = re.compile(r"Epoch (\d+)/\d+ · batch (\d+)/(\d+)")


def expect_training(page) -> None:
    expect(page.get_by_test_id("stProgress").get_by_text(PROGRESS)).to_be_visible(timeout=TRAIN_TIMEOUT_MS)


def choose(page, menu: str, option: str, attempts: int = 5) -> None:
    """Open a menu by its label and pick the option whose text contains `option`."""
    for _ in range(attempts):
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        page.get_by_role("combobox", name=menu, exact=True).click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
        except sync_api.TimeoutError:
            page.keyboard.press("Escape")  # a rerun landed meanwhile and closed the list: again
            continue
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        return
    raise AssertionError(f"{option!r} could not be picked in {menu!r}")


def shown_in(page, menu: str) -> str:
    return page.get_by_role("combobox", name=menu, exact=True).input_value()


def expect_no_exception(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


@pytest.mark.slow
def test_fine_tuning_on_two_of_each_digit_is_measured_and_says_so_first(page, store_copy, tmp_path,
                                                                        monkeypatch):
    from tests.kit.dashboard_server import serve
    from tests.kit.user_style_digits import make_user_style_digits
    from training.runs.user_digit_records import NewDigit
    from training.runs.user_digits import UserDigitStore

    database = tmp_path / "user_digits.sqlite3"
    monkeypatch.setenv("MNIST_STUDIO_USER_DIGITS", str(database))
    digits = UserDigitStore(database)
    x, y = make_user_style_digits(per_digit=2, seed=0)
    digits.add_many(NewDigit(image28=image, label=int(label)) for image, label in zip(x, y, strict=True))
    with serve(store_copy.root) as url:
        page.goto(f"{url}/my_digits")
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        # Before fine-tuning: what it will be measured on, and how many more digits would help.
        expect(page.get_by_text("It will be measured on your 10 held-out digits")).to_be_visible(
            timeout=SCRIPT_TIMEOUT_MS)
        expect(page.get_by_text("50 more digits (spread over the ten)")).to_be_visible()
        page.get_by_role("button", name="Fine-tune on my digits").click()
        done = page.get_by_test_id("stAlert").filter(has_text="Accuracy before → after")
        expect(done).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
        expect(done).to_contain_text(re.compile(r"your held-out digits \(10\): \d+\.\d\d% → \d+\.\d\d%"))
        expect(done).not_to_contain_text("n/a")
        expect_no_exception(page)
    finetune = store_copy.active().record.finetune
    held_out = {digit.digit_id for digit in digits.digits(held_out=True)}
    assert len(held_out) == 10 and set(finetune["held_out_ids"]) == held_out
    assert not held_out & set(finetune["user_digit_ids"])  # never trained on


@pytest.mark.slow
def test_keeping_a_stopped_run_leaves_the_better_active_model_active(served_store, new_page):
    url, store = served_store
    better = store.active_id()
    page = new_page(url)
    browser_kit.start_training(page, 50)
    expect_training(page)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Keep it?")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    expect(page.get_by_text("Keeping it leaves the active model as it is")).to_contain_text(better)
    expect(page.get_by_role("button", name="Keep and make active")).to_be_visible()

    page.get_by_role("button", name="Keep the partial model").click()
    kept = page.get_by_text(re.compile(r"Kept the partial model as \S+ \(stopped in epoch \d+ at batch"))
    expect(kept).to_be_visible(timeout=SCRIPT_TIMEOUT_MS)
    expect(kept).to_contain_text(f"It was not made active: {better} stayed the active model.")
    expect(page.get_by_text("Active now:")).to_contain_text(better)
    expect_no_exception(page)
    assert store.active_id() == better and len(store.runs()) == 2


def test_each_ended_job_is_one_past_line_the_active_model_is_named_once_and_dismissal_holds(
        served_store, new_page):
    url, store = served_store
    jobs = JobStore(store)
    first, second = store.active_id(), second_run(store)
    # Two trainings that each made their run active when they finished, as older logs tell it.
    for run_id in (second, first):
        spec = jobs.create(store.get(run_id).record.config, source="cli")
        append_event(jobs.folder(spec.job_id) / EVENTS_FILE, "finished", run_id=run_id, activated=True,
                     note="It is now the active model.", test_accuracy=store.get(run_id).record.test_accuracy)
    one, other = new_page(url), new_page(url)
    for page in (one, other):
        news = page.get_by_test_id("stAlert").filter(has_text="finished: test accuracy")
        expect(news).to_have_count(2)
        for line in news.all_inner_texts():
            assert line.strip().endswith("It was made active."), line
        expect(page.get_by_text("It is now the active model")).to_have_count(0)
        expect(page.get_by_text("Active now:")).to_have_count(1)
        expect(page.get_by_text("Active now:")).to_contain_text(first)

    one.locator(f".st-key-train_dismiss_{jobs.views()[0].job_id}").get_by_role("button").click()
    for page in (one, other):  # gone in the other tab too, without touching it
        expect(page.get_by_text("finished: test accuracy")).to_have_count(1, timeout=OTHER_TAB_TIMEOUT_MS)
    one.reload()
    browser_kit.wait_for_script(one, SCRIPT_TIMEOUT_MS)
    expect(one.get_by_text("finished: test accuracy")).to_have_count(1)
    expect_no_exception(one)
    expect_no_exception(other)


@pytest.mark.slow
def test_two_tabs_follow_one_job_its_stop_is_named_at_once_and_keep_shows_in_both(served_store, new_page):
    url, store = served_store
    first = new_page(url)
    browser_kit.start_training(first, 50)
    expect_training(first)
    second = new_page(url)
    expect_training(second)

    second.get_by_role("button", name="Stop").click()
    # Both tabs: Stop taken (no second Stop offered), then Keep offered where it stopped, while the
    # partial model is still being measured (no waiting for the test set).
    for page in (first, second):
        expect(page.get_by_role("button", name="Stop", disabled=False)).to_have_count(
            0, timeout=OTHER_TAB_TIMEOUT_MS)
    stopping = re.compile(r"Stopped in epoch (\d+) at batch (\d+)/(\d+)\. .* Measuring its test accuracy")
    for page in (first, second):
        expect(page.get_by_text("Keep it?")).to_contain_text(stopping, timeout=TRAIN_TIMEOUT_MS)
    said = stopping.search(second.get_by_text("Keep it?").inner_text()).groups()
    # The job looks for the stop before every step: after the request, the only batches it logs
    # are the one it stopped at and, at most, the one in flight when the request came.
    job_id = JobStore(store).views()[0].job_id
    folder = JobStore(store).folder(job_id)
    asked = (folder / "stop").stat().st_mtime
    epoch, batch, batches = (int(value) for value in said)
    after = [(event["epoch"] - 1) * batches + event["batch"] for event in read_events(folder / EVENTS_FILE)
             if event["event"] == "progress" and event["time"] > asked]
    stopped_at = (epoch - 1) * batches + batch
    assert after[-1:] == [stopped_at] and all(stopped_at - 1 <= logged for logged in after), after

    first.get_by_role("button", name="Keep the partial model").click()
    for page in (first, second):  # the other tab stops offering Keep, and says it was kept
        expect(page.get_by_role("button", name="Keep the partial model")).to_have_count(
            0, timeout=OTHER_TAB_TIMEOUT_MS)
        expect(page.get_by_text(f"Kept the partial model as {job_id}")).to_be_visible(
            timeout=OTHER_TAB_TIMEOUT_MS)
        expect_no_exception(page)


def test_compare_runs_opens_on_the_two_newest_runs(store_copy, page):
    from tests.kit.dashboard_server import serve

    second_run(store_copy)
    store_copy.rename(second_run(store_copy, "20190101-000000-mlp-fedcba"), "oldest")  # not picked
    with serve(store_copy.root) as url:
        page.goto(url)
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        page.get_by_text("Compare runs").click()
        compare = page.get_by_test_id("stExpander").filter(has_text="Compare runs")
        expect(compare.get_by_test_id("stVegaLiteChart")).to_have_count(3, timeout=SCRIPT_TIMEOUT_MS)
        expect(compare.get_by_text("Pick two or more runs")).to_have_count(0)
        picked = compare.get_by_test_id("stMultiSelect").inner_text()
        assert store_copy.active_id()[:15] in picked and "“older”" in picked, picked
        assert "“oldest”" not in picked
        expect_no_exception(page)


def test_renaming_runs_leaves_the_pickers_on_the_renamed_run(store_copy, page):
    from tests.kit.dashboard_server import serve

    older, active = second_run(store_copy), store_copy.active()

    def rename(run_id: str, name: str) -> None:
        field = page.locator(f".st-key-train_admin_name_{run_id} input")
        field.fill(name)
        page.get_by_role("button", name="Save name").click()
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        expect(page.get_by_test_id("stDataFrame").first).to_contain_text(name)

    with serve(store_copy.root) as url:
        page.goto(url)
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        choose(page, "Show the results of", "“older”")
        page.get_by_text("Rename or delete a run").click()
        choose(page, "Run", "“older”")
        rename(older, "thin pen")
        page.get_by_text("Loss on a log scale").click()  # the page goes on being used
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        expect(page.get_by_role("combobox", name="Show the results of", exact=True)).to_have_value(
            re.compile("“thin pen”"))
        expect(page.get_by_text("Test accuracy: 50.00%")).to_be_visible()
        expect(page.get_by_role("combobox", name="Run", exact=True)).to_have_value(re.compile("“thin pen”"))

        choose(page, "Run", f"{active.record.test_accuracy:.2%}")  # the active run, by its accuracy
        rename(active.run_id, "the good one")
        page.get_by_text("Loss on a log scale").click()
        browser_kit.wait_for_script(page, SCRIPT_TIMEOUT_MS)
        expect(page.get_by_role("combobox", name="Show the results of", exact=True)).to_have_value(
            re.compile("“thin pen”"))
        expect(page.get_by_role("combobox", name="Active model (used by Draw and Export)",
                                exact=True)).to_have_value(re.compile("“the good one”"))
        expect(page.get_by_test_id("stAlert")).to_have_count(0)  # no "… is not a run id"
        expect_no_exception(page)
    assert store_copy.active_id() == active.run_id
