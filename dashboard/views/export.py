"""Export page: download the active model as a static web page (a zip) that runs offline."""

import streamlit as st

from dashboard import display
from dashboard.common import get_store, store_root
from training.core.errors import first_line
from training.runs.store import ModelStore, StoreError

try:
    from web_export import DEFAULT_QUANTIZE, ZIP_FOLDER, ExportError, bundle_zip_bytes
except ImportError as error:  # the page explains instead of failing
    bundle_zip_bytes, ExportError, IMPORT_ERROR = None, RuntimeError, first_line(error)
    ZIP_FOLDER, DEFAULT_QUANTIZE = "", None
else:
    IMPORT_ERROR = None

QUANTIZATION = {
    "float16": "float16: half the size of float32, the same answers",
    None: "float32: exact, twice the size",
    "uint8": "uint8: a quarter of the size, slightly less exact",
}


@st.cache_data(max_entries=8, show_spinner="Building the web page…")
def export_zip(root: str, run_id: str, quantize: str | None) -> bytes:
    """The zip for one run and quantisation, built once; keyed by run id so it never goes stale."""
    return bundle_zip_bytes(ModelStore(root), run_id, quantize=quantize)


def export_ui(run) -> None:
    """The quantisation choice and the download button, with the file's size."""
    st.markdown(f"Active model: **{run.summary()}**")
    quantize = st.selectbox("Weight precision", list(QUANTIZATION), key="export_quantize",
                            index=list(QUANTIZATION).index(DEFAULT_QUANTIZE), format_func=QUANTIZATION.get)
    try:
        data = export_zip(store_root(), run.run_id, quantize)
    except (ExportError, StoreError, ValueError, OSError) as error:
        st.error(f"Could not export this model: {first_line(error)}")
        return
    suffix = f"-{quantize or 'float32'}"
    st.download_button(f"Download the web page ({display.format_bytes(len(data))})", data,
                       file_name=f"mnist-studio-{run.run_id}{suffix}.zip", mime="application/zip",
                       key="export_download", type="primary", icon=":material/download:")
    st.caption(f"Zip size: {display.format_bytes(len(data))}. It unzips into one folder, {ZIP_FOLDER}; "
               "open the index.html in it: the page draws and classifies digits with TensorFlow.js, "
               "with no server and no network.")


st.title("Export")
st.write("The active model as a static web page: draw a digit in any browser, offline.")
if bundle_zip_bytes is None:
    st.error(f"The web export is not available in this installation ({IMPORT_ERROR}).")
else:
    try:
        active = get_store().active()
    except StoreError as error:
        active = None
        st.error(first_line(error))
    if active is None:
        st.info("There is no trained model to export yet. Train one on the Train page first.")
        st.page_link("views/train.py", label="Go to the Train page", icon=":material/model_training:")
    else:
        export_ui(active)
