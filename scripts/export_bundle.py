"""Exporting a run for `scripts.bench_export`: a zip and a folder per weight precision, how long the
export took and how large each is, and the vendored tf.js version the page runs."""

from __future__ import annotations

import json
import time
from pathlib import Path


def weights_label(quantize: str | None) -> str:
    return quantize or "float32"


def default_mark(quantize: str | None) -> str:
    """What marks the precision the Export tab and the CLI use unless told otherwise."""
    from web_export import DEFAULT_QUANTIZE

    return " (the default)" if quantize == DEFAULT_QUANTIZE else ""


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def export_both(store, run_id: str, quantize: str | None, tmp: Path) -> dict:
    from web_export import export_run

    name = f"site-{weights_label(quantize)}"
    started = time.perf_counter()
    zip_path = export_run(store, run_id, tmp / f"{name}.zip", quantize=quantize)
    export_s = time.perf_counter() - started
    folder = export_run(store, run_id, tmp / name, quantize=quantize)
    weights = sum(p.stat().st_size for p in (folder / "model").glob("*.bin"))
    return {
        "zip_path": zip_path,
        "folder": folder,
        "zip_bytes": zip_path.stat().st_size,
        "folder_bytes": folder_bytes(folder),
        "weights_bytes": weights,
        "export_s": export_s,
    }


def tfjs_version() -> str:
    try:
        lock = json.loads((Path(__file__).resolve().parent.parent / "package-lock.json").read_text())
        return lock["packages"]["node_modules/@tensorflow/tfjs-core"]["version"]
    except (OSError, KeyError, ValueError):
        return "(version unknown)"
