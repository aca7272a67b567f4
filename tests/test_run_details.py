"""The Train page's saved-run sections through AppTest: the gallery's count and more, readable run labels."""

from __future__ import annotations

import re

from tests.kit.apptest import app, texts


def test_the_gallery_says_how_many_it_shows_and_shows_more_on_request(monkeypatch, trained_store):
    mistakes = len(trained_store.active().record.mistakes)
    assert mistakes > 24  # the quick model of the fixture errs often enough to fill more than a page
    at = app(monkeypatch, trained_store.root).run()
    assert not at.exception
    assert f"Test digits it got wrong:** 24 of {mistakes} shown" in texts(at)
    at.button(key=f"train_gallery_more_{trained_store.active_id()}").click().run()
    shown = min(48, mistakes)
    assert f"Test digits it got wrong:** {shown} of {mistakes} shown" in texts(at)
    assert not at.exception


def test_runs_are_offered_by_date_architecture_and_accuracy(monkeypatch, trained_store):
    at = app(monkeypatch, trained_store.root).run()
    run = trained_store.active()
    picker = at.selectbox(key="train_view_run")
    assert picker.value == run.run_id
    label = picker.format_func(run.run_id)
    accuracy = re.escape(f"{run.record.test_accuracy:.2%}")
    assert re.fullmatch(rf"\d\d \w{{3}} \d\d:\d\d · CNN · {accuracy} · 1 epoch",
                        label), label
    assert run.run_id not in label


def test_the_chosen_run_is_kept_when_the_user_comes_back_from_another_page(monkeypatch, store_copy):
    import json
    import shutil

    active = store_copy.active()
    older = store_copy.root / "runs" / "20200101-000000-cnn-0a0a0a"
    shutil.copytree(active.path, older)
    record = json.loads((older / "record.json").read_text())
    (older / "record.json").write_text(json.dumps(dict(record, created_at="2020-01-01T00:00:00+00:00")))
    at = app(monkeypatch, store_copy.root).run()
    at.selectbox(key="train_view_run").select(older.name).run()
    assert at.selectbox(key="train_view_run").value == older.name
    at.switch_page("views/draw.py").run()
    assert not at.exception
    at.switch_page("views/train.py").run()
    assert at.selectbox(key="train_view_run").value == older.name
    assert not at.exception
