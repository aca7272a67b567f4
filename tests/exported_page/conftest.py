"""What the exported page's browser tests share: the three-epoch model (they judge doubt), its
export, served over http, and the same run read in Python to compare with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.export_page import serving
from web_export import DEFAULT_QUANTIZE, export_run


@pytest.fixture(scope="module")
def trained_store(steady_store):
    """These tests judge doubt: the three-epoch model (see `steady_store`)."""
    return steady_store


@pytest.fixture(scope="module")
def site(trained_store, tmp_path_factory) -> Path:
    """The export with float32 weights: what the page reads can be held to Keras's probabilities."""
    return export_run(trained_store, None, tmp_path_factory.mktemp("site") / "mnist-site")


@pytest.fixture(scope="module")
def default_site(trained_store, tmp_path_factory) -> Path:
    """The export as the Export tab and the CLI make it by default (float16 weights): what the page
    reads with them must still be what Python reads with the run's own float32 model."""
    return export_run(trained_store, None, tmp_path_factory.mktemp("site") / "mnist-site",
                      quantize=DEFAULT_QUANTIZE)


@pytest.fixture(scope="module")
def server(site):
    """`python -m http.server` in the export folder, on a free localhost port, in a thread."""
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def predictor(trained_store):
    """The run as the dashboard uses it: Keras, with the run's temperature and doubt rule."""
    from training.reading.for_run import load_predictor

    return load_predictor(trained_store)
