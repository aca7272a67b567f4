"""The Draw page's canvas, one for a digit and a wide one for a number: Clear empties it in place.

Clear keeps the same canvas and gives it a new (empty) initial drawing: the canvas empties itself in
place and sends the empty drawing back. (A new widget key would mount a second canvas below the first
for a moment; a stroke started then missed the canvas.) Until the canvas sends again, the runs still
hold the drawing that was cleared, so it is not shown.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from dashboard.canvas_state import clear_canvas


def drawing_canvas(prefix: str, *, width: int, height: int, stroke_width: int,
                   controls: Callable[[], None] | None = None) -> np.ndarray | None:
    """The canvas `{prefix}_canvas` with Clear, the stroke width and `controls` under it; returns the
    drawing's RGBA pixels, or None while it is being cleared."""
    st.session_state.setdefault(f"{prefix}_clears", 0)
    st.session_state.setdefault(f"{prefix}_clearing", False)

    def drawing_sent() -> None:
        st.session_state[f"{prefix}_clearing"] = False

    clears = st.session_state[f"{prefix}_clears"]
    result = st_canvas(
        # The slider sits under the canvas (so that on a phone the answer is nearer), its value is read here.
        stroke_width=st.session_state.get(f"{prefix}_stroke_width", stroke_width),
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=height,
        width=width,
        drawing_mode="freedraw",
        # A changed initial drawing empties the canvas (the count is set on Fabric's canvas, unused).
        initial_drawing={"objects": [], "mnistStudioClears": clears} if clears else None,
        update_streamlit=True,
        return_image_data=True,
        key=f"{prefix}_canvas",
        on_change=drawing_sent,
    )
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("Clear", key=f"{prefix}_clear", on_click=clear_canvas, args=(prefix,),
                  icon=":material/ink_eraser:")
        st.slider("Stroke width", min_value=6, max_value=40, value=stroke_width, key=f"{prefix}_stroke_width",
                  width=180)
        if controls is not None:
            controls()
    return None if st.session_state[f"{prefix}_clearing"] else result.image_data
