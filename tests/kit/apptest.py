"""Helpers for Streamlit AppTests of the dashboard: start it on a store, read what the user reads."""

from __future__ import annotations

from pathlib import Path

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def app(monkeypatch, store_root, *, train_limit: int | None = None):
    """An AppTest of the dashboard against the model store at `store_root`."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MNIST_STUDIO_MODELS", str(store_root))
    if train_limit:
        monkeypatch.setenv("MNIST_STUDIO_TRAIN_LIMIT", str(train_limit))
    else:
        monkeypatch.delenv("MNIST_STUDIO_TRAIN_LIMIT", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


def texts(at) -> str:
    """Every piece of text a user would read on the page, joined."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return "\n".join(parts)
