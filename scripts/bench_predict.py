"""Server-side prediction: latency of preprocess + predict per drawing, accuracy on drawn digits,
memory across 1,000 predictions, and the `predict` CLI on 1,000 files.

`python -m scripts.bench_predict STORE_DIR RUN_ID [RUN_ID ...]` prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

DRAWINGS = 1000


def percentile_ms(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1000, 2)


def main(argv: list[str]) -> int:
    from tests.kit.drawn_digits import (
        canvas_image,
        evaluate_drawn,
        make_drawn_digits,
        plain_resize,
        styles_for,
    )
    from training.data.mnist import load_mnist
    from training.data.preprocess import to_mnist
    from training.reading.for_run import load_predictor
    from training.runs.store import ModelStore

    store, run_ids = ModelStore(argv[0]), argv[1:]
    images, _ = make_drawn_digits(DRAWINGS, seed=0)
    drawings = [
        np.asarray(canvas_image(image, style).convert("RGBA"))
        for image, style in zip(images, styles_for(DRAWINGS, 0), strict=True)
    ]
    mnist = load_mnist()

    report: dict = {"drawings": DRAWINGS, "runs": {}}
    for run_id in run_ids:
        predictor = load_predictor(store, run_id)
        test = predictor.probabilities_batch(mnist.x_test.astype(np.float32) / 255).argmax(axis=1)
        report["runs"][run_id] = {
            "augment": store.get(run_id).record.config.augment,
            "mnist_test": float((test == mnist.y_test).mean()),
            "drawn_to_mnist": evaluate_drawn(predictor, DRAWINGS, 0),
            "drawn_plain_resize": evaluate_drawn(predictor, DRAWINGS, 0, preprocess=plain_resize),
        }

    predictor = load_predictor(store, run_ids[0])
    process = psutil.Process()
    for drawing in drawings[:20]:  # warm-up
        predictor.classify(drawing)
    rss_before = process.memory_info().rss
    preprocess_s, total_s = [], []
    for drawing in drawings:
        started = time.perf_counter()
        image28 = to_mnist(drawing)
        preprocessed = time.perf_counter()
        predictor.probabilities(image28)
        done = time.perf_counter()
        preprocess_s.append(preprocessed - started)
        total_s.append(done - started)
    rss_after = process.memory_info().rss

    model = predictor.model
    bare_predict_s = []
    for drawing in drawings[:200]:
        image28 = to_mnist(drawing)
        started = time.perf_counter()
        model.predict(image28[np.newaxis], verbose=0)
        bare_predict_s.append(time.perf_counter() - started)

    report["latency"] = {
        "preprocess_p50_ms": percentile_ms(preprocess_s, 50),
        "preprocess_p95_ms": percentile_ms(preprocess_s, 95),
        "total_p50_ms": percentile_ms(total_s, 50),
        "total_p95_ms": percentile_ms(total_s, 95),
        "model_predict_p50_ms": percentile_ms(bare_predict_s, 50),
    }
    report["memory"] = {
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_1000_mb": round(rss_after / 2**20, 1),
    }
    report["cli_1000_files_s"] = time_predict_cli(store, run_ids[0], drawings)
    print(json.dumps(report))
    return 0


def time_predict_cli(store, run_id: str, drawings: list[np.ndarray]) -> float:
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        files = []
        for index, drawing in enumerate(drawings):
            path = Path(folder) / f"{index:04d}.png"
            Image.fromarray(drawing).save(path)
            files.append(str(path))
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "training",
                "predict",
                "--json",
                "--models",
                str(store.root),
                "--model",
                run_id,
                *files,
            ],
            check=True,
            capture_output=True,
        )
        return round(time.perf_counter() - started, 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
