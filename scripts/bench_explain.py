"""What the Draw page's explanations cost after the answer, where the occlusion map lies, the neighbour index.

`python -m scripts.bench_explain STORE RUN_ID` (the active run when RUN_ID is empty) prints one
JSON line in the shape `scripts.bench_report.render_generic` turns into a table for BENCHMARKS.md.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench_cli import store_bench_main

COMMAND = "python -m scripts.bench_explain STORE RUN_ID"
DIGITS = 200


def near_ink(image: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Pixels within `pixels` (8-neighbour steps) of ink (> 0.2)."""
    grown = image > 0.2
    for _ in range(pixels):
        padded = np.pad(grown, 1)
        grown = np.zeros_like(grown)
        for dy in range(3):
            for dx in range(3):
                grown |= padded[dy:dy + 28, dx:dx + 28]
    return grown


def measure(store_root: str, run_id: str | None) -> dict:
    from dashboard.explain_ui import layer_pictures, neighbour_pictures, png, saliency_overlay
    from training.data.mnist import load_mnist
    from training.reading.explain import Explainer, patch_corners
    from training.reading.for_run import build_neighbours_for, load_predictor
    from training.reading.neighbours import NEIGHBOURS_FILE
    from training.runs.store import ModelStore

    predictor = load_predictor(ModelStore(store_root), run_id or None)
    started = time.perf_counter()
    explainer = Explainer(predictor.model)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    index = build_neighbours_for(predictor)  # what a training job does before saving its run
    index_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        index.save(Path(folder) / NEIGHBOURS_FILE)
        index_bytes = (Path(folder) / NEIGHBOURS_FILE).stat().st_size
    data = load_mnist()
    images = (data.x_test[:DIGITS] / 255.0).astype(np.float32)
    explainer.occlusion_map(images[0])  # traced once, as the page's first drawing does
    explainer.feature_maps(images[0])
    explainer.explain(images[0])

    occlusion_ms, features_ms, lookup_ms, total_ms, fractions, png_bytes, agree = [], [], [], [], [], [], []
    answers = predictor.logits_batch(images).argmax(axis=1)
    for image, answer in zip(images, answers, strict=True):
        t0 = time.perf_counter()
        explainer.occlusion_map(image)
        t1 = time.perf_counter()
        explainer.feature_maps(image)
        t2 = time.perf_counter()
        # What the page does after the answer: one pass for the map and the layers, the drawing's
        # features for its neighbours, every picture encoded (what Streamlit sends).
        saliency, layers = explainer.explain(image)
        pictures = [png(saliency_overlay(image, saliency))]
        pictures += [picture for picture, _ in layer_pictures(layers)]
        t3 = time.perf_counter()
        features = predictor.features(image[np.newaxis])
        neighbours = index.nearest(features[0])
        t4 = time.perf_counter()
        pictures += neighbour_pictures(neighbours, data.x_train)
        t5 = time.perf_counter()
        png_bytes.append(sum(len(picture) for picture in pictures))
        occlusion_ms.append((t1 - t0) * 1000)
        features_ms.append((t2 - t1) * 1000)
        lookup_ms.append((t4 - t3) * 1000)
        total_ms.append((t5 - t2) * 1000)
        positive = np.clip(saliency, 0, None)
        fractions.append(float(positive[near_ink(image)].sum() / max(positive.sum(), 1e-12)))
        labels = np.bincount([n.label for n in neighbours], minlength=10)
        agree.append(int(labels.argmax() == answer))

    def p(values, q):
        return f"{np.percentile(values, q):.1f} ms"

    rows = [
        {"measure": f"occlusion map (a blanked copy per inked patch of {len(patch_corners())}, "
                    "one batch): p50 / p95",
         "value": f"{p(occlusion_ms, 50)} / {p(occlusion_ms, 95)}", "command": COMMAND},
        {"measure": "feature maps (one forward pass): p50 / p95",
         "value": f"{p(features_ms, 50)} / {p(features_ms, 95)}", "command": COMMAND},
        {"measure": "nearest 8 training digits (the drawing's features, then the index): p50 / p95",
         "value": f"{p(lookup_ms, 50)} / {p(lookup_ms, 95)}", "goal": "≤ 10 ms", "command": COMMAND},
        {"measure": "all the Draw page adds after the answer (one pass for map and layers, neighbours, "
                    "PNGs encoded): p50 / p95",
         "value": f"{p(total_ms, 50)} / {p(total_ms, 95)}", "goal": "≤ 60 ms p95", "command": COMMAND},
        {"measure": "images sent per explanation (PNG), median",
         "value": f"{np.median(png_bytes) / 1000:.1f} KB", "command": COMMAND},
        {"measure": "explainer built (sub-model, once per run)", "value": f"{build_s * 1000:.0f} ms",
         "command": COMMAND},
        {"measure": f"neighbour index built ({len(index.indices):,} training digits, once per run, "
                    "when a training is saved)", "value": f"{index_s:.1f} s", "command": COMMAND},
        {"measure": "neighbour index file in the run folder (neighbours.npz)",
         "value": f"{index_bytes / 1e6:.2f} MB", "goal": "a few MB", "command": COMMAND},
        {"measure": f"majority label of the 8 neighbours = the answer, {DIGITS} test digits",
         "value": f"{np.mean(agree):.1%}", "goal": "≥ 95% of correct answers (tests/test_neighbours.py)",
         "command": COMMAND},
        {"measure": f"occlusion map's positive mass within 1 px of the ink, {DIGITS} test digits: "
                    "median / 5th percentile",
         "value": f"{np.median(fractions):.1%} / {np.percentile(fractions, 5):.1%}",
         "goal": "≥ 80% / ≥ 65% (tests/test_explain.py)", "command": COMMAND},
    ]
    return {
        "title": "Explanations (Draw page: where it looks, it looks like these, what each layer sees)",
        "intro": (f"Run {predictor.run_id}, the first {DIGITS} MNIST test digits, one at a time, "
                  "after one warm-up."),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    return store_bench_main(measure, COMMAND, argv)


if __name__ == "__main__":
    raise SystemExit(main())
