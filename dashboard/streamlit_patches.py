"""Streamlit behaviour the dashboard switches off where Streamlit has no option for it."""

from __future__ import annotations

# The private function in `streamlit.runtime.scriptrunner.script_runner` that `ScriptRunner` calls
# by this name after every run. tests/test_streamlit_patches.py fails if Streamlit renames it.
CLEANING_HOOK = "_clean_problem_modules"


def keep_keras_state_between_runs() -> None:
    """Stop Streamlit from calling `keras.backend.clear_session()` after every script run.

    Once Keras is imported (the Draw page's predictor), Streamlit's script runner "cleans" it
    after each run and each fragment run: a full `gc.collect()` plus a TensorFlow kernel-cache
    flush, holding the GIL all the while, and every stroke on the Draw page waited
    for it before its answer was sent. Trainings run in processes of their own now, so this is
    only about the Draw page's latency. Nothing here relies on the cleaning: models are cached
    per run id. (The hook also closes matplotlib's figures; the dashboard draws none.)

    There is no option for it, so the private hook is replaced when present. When a Streamlit
    upgrade renames it, the app still starts (and strokes get slow again); the test says so.
    """
    from streamlit.runtime.scriptrunner import script_runner

    if callable(getattr(script_runner, CLEANING_HOOK, None)):
        setattr(script_runner, CLEANING_HOOK, lambda: None)
