"""The Draw page's photo upload, for a digit and for a number: the image, or one line saying why not."""

from __future__ import annotations

import streamlit as st
from PIL import Image

from training.core.errors import first_line
from training.data.ink import load_image

UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]


def uploaded_image(label: str, key: str) -> tuple[str, Image.Image] | None:
    """The file's name and image once one is uploaded and readable; None before, or after an error line."""
    upload = st.file_uploader(label, type=UPLOAD_TYPES, key=key)
    if upload is None:
        return None
    try:
        return upload.name, load_image(upload.getvalue())
    except ValueError as error:
        st.error(f"{upload.name}: {first_line(error)}")
        return None
