"""The files of a static export, built in memory: page, vendored tf.js, graph model, README."""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from training.core.errors import first_line
from training.reading.for_run import doubt_for_run
from training.reading.predictor import Predictor
from training.runs.store import ModelStore, Run, StoreError
from web_export.convert import QUANTIZE_CHOICES, convert_to_tfjs, output_columns

if TYPE_CHECKING:
    from training.reading.doubt import DoubtModel

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_FILES = ("index.html", "style.css", "model.js", "grid.js", "chart.js", "preprocess.js", "occlusion.js",
              "cuts.js", "segment.js", "numbers.js", "number-mode.js")
NODE_MODULES = ROOT / "node_modules" / "@tensorflow"
# Only what a graph model needs (not the whole tf.min.js): core, the converter's loader, and two
# backends. ES2017 builds, because they need no eval (tf.min.js's ES5 polyfills did).
TFJS_SCRIPTS = {
    "tf-core.min.js": NODE_MODULES / "tfjs-core" / "dist" / "tf-core.es2017.min.js",
    "tf-converter.min.js": NODE_MODULES / "tfjs-converter" / "dist" / "tf-converter.es2017.min.js",
    "tf-backend-cpu.min.js": NODE_MODULES / "tfjs-backend-cpu" / "dist" / "tf-backend-cpu.es2017.min.js",
    "tf-backend-wasm.min.js": NODE_MODULES / "tfjs-backend-wasm" / "dist" / "tf-backend-wasm.es2017.min.js",
}
# The SIMD build only: every browser with WebAssembly SIMD gets it, any other falls back to cpu.
# Threads are never used (they need cross-origin isolation, which file:// cannot have).
WASM_BINARY = NODE_MODULES / "tfjs-backend-wasm" / "dist" / "tfjs-backend-wasm-simd.wasm"
WASM_SCRIPT = "tf-backend-wasm-simd.js"
MODEL_DIR = "model"
MANIFEST_FILE = "export.json"
NO_MODEL = "No trained model to export yet: train one first."


class ExportError(RuntimeError):
    """An export could not be made; the message is one line meant for the user."""


@dataclass(frozen=True)
class Bundle:
    """Every file of the export by its relative path, plus the run it was made from."""

    files: dict[str, bytes]
    run: Run
    quantize: str | None


def build_bundle(store: ModelStore, run_id: str | None = None, *, quantize: str | None = None) -> Bundle:
    """Convert a run (the active one when `run_id` is None) and gather the page around it."""

    if quantize is not None and quantize not in QUANTIZE_CHOICES:
        raise ExportError(f"Unknown quantization {quantize!r}: use one of {', '.join(QUANTIZE_CHOICES)}.")
    run = _find_run(store, run_id)
    # Checked before the slow conversion, so a missing `npm ci` fails at once.
    tfjs = _read_tfjs()
    files = {name: (STATIC_DIR / name).read_bytes() for name in PAGE_FILES}
    files.update(tfjs)
    try:
        model = store.load_model(run.run_id)
    except StoreError as error:
        raise ExportError(f"Cannot export {run.run_id}: {error}") from error
    calibration, doubt = _calibration(run, model)

    with tempfile.TemporaryDirectory(prefix="mnist-tfjs-") as tmp:
        model_dir = Path(tmp) / MODEL_DIR
        try:
            convert_to_tfjs(model, model_dir, quantize=quantize, temperature=calibration["temperature"],
                            doubt=doubt)
        except Exception as error:
            message = f"Converting {run.run_id} to TensorFlow.js failed: {first_line(error)}"
            raise ExportError(message) from error
        model_files = {f"{MODEL_DIR}/{path.name}": path.read_bytes() for path in sorted(model_dir.iterdir())}
    files.update(model_files)
    manifest = {
        "run_id": run.run_id,
        "architecture": run.record.config.architecture,
        "test_accuracy": run.record.test_accuracy,
        "quantize": quantize,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **calibration,
        # Which columns of the graph's output are the probabilities, distances and logits.
        "outputs": output_columns(0 if doubt is None else len(doubt.centres)),
    }
    files[MANIFEST_FILE] = (json.dumps(manifest, indent=2) + "\n").encode()
    files["model-data.js"] = model_data_js(model_files, manifest)
    files["README.txt"] = readme_text(run, quantize).encode()
    return Bundle(files=files, run=run, quantize=quantize)


def _calibration(run: Run, model) -> tuple[dict, DoubtModel]:
    """The run's temperature and doubt rule: named in the manifest, folded into the graph.

    The page's answer averages the logits of five views (`training.data.shifts`) and divides the mean by
    the manifest's temperature; the graph's own probabilities (T folded in) are one view's.
    """

    temperature = run.record.temperature
    doubt = doubt_for_run(run.path, Predictor(model, run.run_id, temperature))
    return {
        "temperature": temperature,
        # The page flags a drawing as the dashboard does (training.reading.doubt.judge).
        "doubt": {"min_confidence": doubt.min_confidence, "max_distance": doubt.max_distance},
    }, doubt


def model_data_js(model_files: dict[str, bytes], export_info: dict) -> bytes:
    """model.json and its weights as one script, because file:// pages may not fetch local JSON.

    The page hands this object to `tf.io.fromMemory`, so http:// and file:// load the same way.
    """
    model_json = json.loads(model_files[f"{MODEL_DIR}/model.json"])
    manifest = model_json.pop("weightsManifest")
    weight_specs = [spec for group in manifest for spec in group["weights"]]
    # Shards concatenate in manifest order; that is how tf.js's own loader joins them.
    weights = b"".join(model_files[f"{MODEL_DIR}/{path}"] for group in manifest for path in group["paths"])
    data = {
        **model_json,
        "exportInfo": export_info,
        "weightSpecs": weight_specs,
        "weightsBase64": base64.b64encode(weights).decode("ascii"),
    }
    return (
        "// Generated by MNIST Studio: the model of model/model.json with its weights inlined.\n"
        f"window.MODEL_DATA = {json.dumps(data, separators=(',', ':'))};\n"
    ).encode()


def wasm_binary_js(binary: bytes) -> bytes:
    """The wasm backend's binary as a script, because file:// pages may not fetch a .wasm file.

    model.js turns it into a Blob URL for the backend's loader, so no request leaves the page.
    """
    return (
        "// Generated by MNIST Studio: tfjs-backend-wasm-simd.wasm of @tensorflow/tfjs-backend-wasm.\n"
        f'window.TFJS_WASM_SIMD_BASE64 = "{base64.b64encode(binary).decode("ascii")}";\n'
    ).encode()


def readme_text(run: Run, quantize: str | None) -> str:
    weights = {
        None: "float32 weights",
        "float16": "float16-quantized weights",
        "uint8": "uint8-quantized weights",
    }[quantize]
    return f"""MNIST Studio: a handwritten-digit classifier that runs in your browser
=====================================================================

Paint a digit on the 28x28 grid; the model guesses which digit it is, live. Or switch to
"A number" and write several digits side by side.
Everything runs locally with TensorFlow.js: the page makes no network requests.

Model: run {run.run_id}
  architecture:  {run.record.config.architecture}
  test accuracy: {run.record.test_accuracy:.2%} (on the MNIST test images)
  format:        TensorFlow.js graph model, {weights}

How to open it
  - Double-click index.html (works from disk, no server needed), or
  - serve this folder:  python -m http.server 8000   then open http://localhost:8000/

Drawing
  - Press and drag to paint; right-click or "Erase" mode to erase; "Clear" empties the grid.
  - "Where it looks" colours the grid by occlusion: how much the top answer drops when each
    region is hidden (red: hiding it lowers the answer; blue: hiding it raises it).
  - "A number" reads a whole number (up to 12 digits): write it on the wide canvas, or open an
    image of one ("Open an image..."; read here, nothing is sent). A box marks each digit found;
    a doubted digit is named by its place ("Not sure about the 3rd digit - 1 or 7").

Files
  index.html, style.css, grid.js, chart.js, preprocess.js,  the page
  model.js, occlusion.js, number-mode.js, numbers.js,
  segment.js, cuts.js
  tf-core.min.js, tf-converter.min.js                       TensorFlow.js 4.22 (vendored): core and
                                                            the graph-model loader
  tf-backend-wasm.min.js, tf-backend-wasm-simd.js           its WebAssembly backend (the binary inlined)
  tf-backend-cpu.min.js                                     its JavaScript backend, used without wasm
  model-data.js                                             the model, inlined for file:// use
  model/model.json + model/*.bin                            the same model, standard tf.js format
  export.json                                               which run this is, machine-readable
"""


def _find_run(store: ModelStore, run_id: str | None) -> Run:
    if run_id is None:
        run = store.active()
        if run is None:
            raise ExportError(NO_MODEL)
        return run
    try:
        return store.get(run_id)
    except StoreError as error:
        raise ExportError(f"Cannot export: {error}.") from error


def _read_tfjs() -> dict[str, bytes]:
    """The vendored tf.js files of the bundle by name."""
    files = {}
    for name, path in [*TFJS_SCRIPTS.items(), (WASM_SCRIPT, WASM_BINARY)]:
        try:
            data = path.read_bytes()
        except OSError:
            raise ExportError(
                f"TensorFlow.js is missing ({_shown(path)}): run `make` / `npm ci` first."
            ) from None
        files[name] = wasm_binary_js(data) if name == WASM_SCRIPT else data
    return files


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)

