"""Static web export without a browser: bundle contents, output paths, errors and the CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.kit.cli import ROOT, cli
from training.reading.doubt import PROTOTYPES
from training.runs.store import ModelStore
from web_export import ZIP_FOLDER, ExportError, bundle_zip_bytes, export_run
from web_export.bundle import NO_MODEL, TFJS_SCRIPTS, WASM_BINARY

PAGE_FILES = {
    "index.html",
    "style.css",
    "model.js",
    "grid.js",
    "chart.js",
    "preprocess.js",
    "occlusion.js",
    "cuts.js",
    "segment.js",
    "numbers.js",
    "number-mode.js",
    "tf-core.min.js",
    "tf-converter.min.js",
    "tf-backend-cpu.min.js",
    "tf-backend-wasm.min.js",
    "tf-backend-wasm-simd.js",
    "model-data.js",
    "README.txt",
    "export.json",
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return cli("web_export", *args)


class PageZip:
    """An export zip read as its one folder: names and contents relative to ZIP_FOLDER."""

    def __init__(self, source: Path | bytes):
        self.archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        prefix = f"{ZIP_FOLDER}/"
        self.names = {name.removeprefix(prefix) for name in self.archive.namelist() if name != prefix}

    def read(self, name: str) -> bytes:
        return self.archive.read(f"{ZIP_FOLDER}/{name}")


@pytest.fixture(scope="module")
def exported_zip(trained_store, tmp_path_factory) -> Path:
    return export_run(trained_store, None, tmp_path_factory.mktemp("zip") / "mnist.zip")


def test_zip_holds_the_page_the_model_and_tfjs(exported_zip, trained_store):
    names = PageZip(exported_zip).names
    assert names >= PAGE_FILES
    assert "model/model.json" in names
    assert any(name.startswith("model/") and name.endswith(".bin") for name in names)
    assert all(not name.startswith(("/", "..")) and ".." not in name.split("/") for name in names)


def test_readme_and_manifest_name_the_run(exported_zip, trained_store):
    run = trained_store.active()
    archive = PageZip(exported_zip)
    readme = archive.read("README.txt").decode()
    assert run.run_id in readme and run.record.config.architecture in readme
    assert f"{run.record.test_accuracy:.2%}" in readme
    assert "index.html" in readme and "http.server" in readme
    manifest = json.loads(archive.read("export.json"))
    assert manifest["run_id"] == run.run_id and manifest["quantize"] is None


def test_page_is_self_contained(exported_zip):
    archive = PageZip(exported_zip)
    html = archive.read("index.html").decode()
    assert "Content-Security-Policy" in html and "default-src 'self'" in html
    assert "http://" not in html and "https://" not in html
    # WebAssembly may compile, but no string may be evaluated as code.
    assert "'wasm-unsafe-eval'" in html and "'unsafe-eval'" not in html
    assert "tf.min.js" not in html and "webgl" not in html  # only the graph-model parts of tf.js
    for name, path in TFJS_SCRIPTS.items():
        assert archive.read(name) == path.read_bytes()
        assert f'<script src="{name}"></script>' in html
    wasm_js = archive.read("tf-backend-wasm-simd.js").decode()
    (encoded,) = re.fullmatch(
        r'(?s)//[^\n]*\nwindow\.TFJS_WASM_SIMD_BASE64 = "([A-Za-z0-9+/=]+)";\n', wasm_js
    ).groups()
    assert base64.b64decode(encoded) == WASM_BINARY.read_bytes()
    model_data = archive.read("model-data.js").decode()
    assert model_data.count("window.MODEL_DATA = ") == 1 and '"weightsBase64":' in model_data


def test_graph_model_outputs_probabilities_then_distances_then_logits(exported_zip):
    model_json = json.loads(PageZip(exported_zip).read("model/model.json"))
    assert model_json["format"] == "graph-model"
    (output,) = model_json["signature"]["outputs"].values()
    # Ten calibrated probabilities, then the drawing's squared distance to each of the digits'
    # prototypes (the doubt rule), then the logits the page's occlusion map measures.
    prototypes = 10 * PROTOTYPES
    assert [d["size"] for d in output["tensorShape"]["dim"]] == ["-1", str(20 + prototypes)]
    assert "Softmax" in json.dumps(model_json["modelTopology"])
    manifest = json.loads(PageZip(exported_zip).read("export.json"))
    assert manifest["temperature"] > 0 and set(manifest["doubt"]) == {"min_confidence", "max_distance"}
    assert manifest["outputs"] == {"probabilities": [0, 10], "distances": [10, 10 + prototypes],
                                   "logits": [10 + prototypes, 20 + prototypes]}


def test_zip_bytes_match_the_zip_file(exported_zip, trained_store):
    archive = zipfile.ZipFile(io.BytesIO(bundle_zip_bytes(trained_store)))
    assert set(archive.namelist()) == set(zipfile.ZipFile(exported_zip).namelist())


def test_the_zip_unpacks_into_one_folder(exported_zip, tmp_path):
    zipfile.ZipFile(exported_zip).extractall(tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == [ZIP_FOLDER]
    assert (tmp_path / ZIP_FOLDER / "index.html").is_file()
    assert (tmp_path / ZIP_FOLDER / "model" / "model.json").is_file()


def test_folder_export_replaces_a_previous_export(trained_store, tmp_path):
    out = tmp_path / "site"
    assert export_run(trained_store, None, out, quantize="uint8") == out
    (out / "stale.txt").write_text("from an older export")
    export_run(trained_store, None, out, quantize="uint8")
    assert (out / "index.html").is_file() and not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temp leftovers


def test_no_model_gives_the_clear_message(tmp_path):
    with pytest.raises(ExportError, match=rf"^{re.escape(NO_MODEL)}$"):
        bundle_zip_bytes(ModelStore(tmp_path / "empty"))
    assert not (tmp_path / "out.zip").exists()


def test_unknown_run_is_one_line(trained_store, tmp_path):
    with pytest.raises(ExportError, match="no run named nope") as info:
        export_run(trained_store, "nope", tmp_path / "out.zip")
    assert "\n" not in str(info.value)


def test_refuses_a_folder_that_is_not_an_export(trained_store, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(ExportError, match="not an MNIST Studio export"):
        export_run(trained_store, None, tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("name", [".", ".."])
def test_refuses_a_path_without_a_name(trained_store, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportError, match="does not name"):
        export_run(trained_store, None, Path(name))


def test_refuses_a_symlink_that_escapes_its_folder(trained_store, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "site.zip").symlink_to(tmp_path / "elsewhere" / "site.zip")
    with pytest.raises(ExportError, match="symbolic link"):
        export_run(trained_store, None, tmp_path / "out" / "site.zip")
    assert not (tmp_path / "elsewhere" / "site.zip").exists()


def test_refuses_a_zip_name_that_is_a_folder(trained_store, tmp_path):
    (tmp_path / "odd.zip").mkdir()
    with pytest.raises(ExportError, match="is a folder"):
        export_run(trained_store, None, tmp_path / "odd.zip")


def test_missing_node_modules_says_run_make(trained_store, tmp_path, monkeypatch):
    monkeypatch.setattr("web_export.bundle.WASM_BINARY", ROOT / "node_modules" / "missing" / "x.wasm")
    with pytest.raises(
        ExportError, match=r"missing \(node_modules/missing/x\.wasm\): run `make` / `npm ci` first"
    ):
        export_run(trained_store, None, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_unknown_quantization_is_refused(trained_store):
    with pytest.raises(ExportError, match="Unknown quantization"):
        bundle_zip_bytes(trained_store, quantize="int4")


def test_cli_without_a_model_exits_1_with_one_line(tmp_path):
    result = run_cli("--models", str(tmp_path / "empty"), "--out", str(tmp_path / "out.zip"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {NO_MODEL}"
    assert "Traceback" not in result.stdout + result.stderr


def test_cli_bad_usage_exits_2(tmp_path):
    result = run_cli("--out", str(tmp_path / "x.zip"), "--quantize", "int4")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert run_cli().returncode == 2


@pytest.mark.slow
def test_cli_writes_a_zip_and_prints_its_size(trained_store, tmp_path):
    out = tmp_path / "mnist.zip"
    result = run_cli("--models", str(trained_store.root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout and " MB)" in result.stdout
    assert f"unzip it and open {ZIP_FOLDER}/index.html" in result.stdout
    assert result.stderr == ""  # TensorFlow's start-up chatter stays out of the user's terminal
    assert json.loads(PageZip(out).read("export.json"))["quantize"] == "float16"  # the default
    exact = tmp_path / "exact.zip"
    result = run_cli("--models", str(trained_store.root), "--out", str(exact), "--quantize", "float32")
    assert result.returncode == 0, result.stderr
    assert json.loads(PageZip(exact).read("export.json"))["quantize"] is None
    assert exact.stat().st_size > out.stat().st_size


def test_importing_web_export_loads_neither_streamlit_nor_tensorflow():
    code = (
        "import sys, web_export, web_export.__main__; "
        "print(sorted({'streamlit', 'tensorflow', 'tensorflowjs', 'keras'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
