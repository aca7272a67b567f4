"""The private Streamlit hook the dashboard replaces is still there, and the replacement holds."""

from __future__ import annotations

import inspect
import sys
import types

import streamlit
from streamlit.runtime.scriptrunner import script_runner

from dashboard.streamlit_patches import CLEANING_HOOK, keep_keras_state_between_runs


def test_streamlit_still_has_the_keras_cleaning_hook_and_calls_it_after_each_run():
    """If this fails, a Streamlit upgrade renamed the hook: the app still starts, but every Draw
    stroke waits a quarter of a second for `keras.backend.clear_session()` again."""
    assert callable(getattr(script_runner, CLEANING_HOOK, None)), (
        f"Streamlit {streamlit.__version__} has no callable script_runner.{CLEANING_HOOK}: "
        "find its new after-run cleaning and update dashboard/streamlit_patches.py")
    # The runner looks the hook up by name (a global) when a run ends, so replacing it takes effect.
    callers = [name for name, member in vars(script_runner.ScriptRunner).items()
               if inspect.isfunction(member) and CLEANING_HOOK in member.__code__.co_names]
    assert callers, f"Streamlit {streamlit.__version__}'s ScriptRunner no longer calls {CLEANING_HOOK}"


def test_after_the_patch_the_hook_no_longer_clears_the_keras_session(monkeypatch):
    cleared = []
    keras = types.SimpleNamespace(backend=types.SimpleNamespace(clear_session=lambda: cleared.append(1)))
    monkeypatch.setitem(sys.modules, "keras", keras)  # Streamlit only "cleans" Keras once imported

    def streamlits_cleaning():  # what the hook does to Keras, in case an app run here replaced it
        sys.modules["keras"].backend.clear_session()

    assert callable(getattr(script_runner, "_clean_problem_modules", None))
    monkeypatch.setattr(script_runner, "_clean_problem_modules", streamlits_cleaning)
    script_runner._clean_problem_modules()
    assert cleared == [1]

    keep_keras_state_between_runs()
    script_runner._clean_problem_modules()
    assert cleared == [1], "the hook still clears the Keras session after each run"
