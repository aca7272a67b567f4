"""Emptying a Draw page canvas, for its Clear button and after a save (`dashboard/canvas.py` draws
it). Apart from the canvas itself, so that what empties it need not load the canvas component."""

from __future__ import annotations

import streamlit as st


def clear_canvas(prefix: str) -> None:
    """Empty the canvas `{prefix}_canvas` on the next run: it gets a new, empty initial drawing, and
    the drawing that was cleared is not shown until the canvas sends again."""
    st.session_state[f"{prefix}_clears"] = st.session_state.get(f"{prefix}_clears", 0) + 1
    st.session_state[f"{prefix}_clearing"] = True
