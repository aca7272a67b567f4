"""What the Draw page's explanations cost after the answer, and where the occlusion map lies (MNIST test).

`python -m scripts.bench_explain STORE RUN_ID` (the active run when RUN_ID is empty) prints one
JSON line in the shape `scripts.bench_report.render_generic` turns into a table for BENCHMARKS.md.
"""

from __future__ import annotations

import io
import time

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
    from PIL import Image

    from dashboard.explain_ui import channel_grid, channel_panels, saliency_overlay
    from training.data import load_mnist
    from training.explain import Explainer
    from training.predict import load_predictor
    from training.store import ModelStore

    predictor = load_predictor(ModelStore(store_root), run_id or None)
    started = time.perf_counter()
    explainer = Explainer(predictor.model)
    build_s = time.perf_counter() - started
    images = load_mnist().x_test[:DIGITS] / 255.0
    explainer.occlusion_map(images[0])  # traced once, as the page's first drawing does
    explainer.feature_maps(images[0])
    explainer.explain(images[0])

    def png(array: np.ndarray) -> int:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        return buffer.tell()

    occlusion_ms, features_ms, total_ms, fractions, png_bytes = [], [], [], [], []
    for image in images:
        t0 = time.perf_counter()
        explainer.occlusion_map(image)
        t1 = time.perf_counter()
        explainer.feature_maps(image)
        t2 = time.perf_counter()
        saliency, layers = explainer.explain(image)  # what the page calls: both from one pass
        pictures = [saliency_overlay(image, saliency)]
        pictures += [channel_grid(channel_panels(maps), 16 if maps.ndim == 3 else 32) for _, maps in layers]
        png_bytes.append(sum(png(picture) for picture in pictures))  # what Streamlit sends
        t3 = time.perf_counter()
        occlusion_ms.append((t1 - t0) * 1000)
        features_ms.append((t2 - t1) * 1000)
        total_ms.append((t3 - t2) * 1000)
        positive = np.clip(saliency, 0, None)
        fractions.append(float(positive[near_ink(image)].sum() / max(positive.sum(), 1e-12)))

    def p(values, q):
        return f"{np.percentile(values, q):.1f} ms"

    rows = [
        {"measure": "occlusion map (169 blanked copies, one batch): p50 / p95",
         "value": f"{p(occlusion_ms, 50)} / {p(occlusion_ms, 95)}", "command": COMMAND},
        {"measure": "feature maps (one forward pass): p50 / p95",
         "value": f"{p(features_ms, 50)} / {p(features_ms, 95)}", "command": COMMAND},
        {"measure": "all the Draw page adds after the answer (one pass for both, PNGs encoded): p50 / p95",
         "value": f"{p(total_ms, 50)} / {p(total_ms, 95)}", "goal": "≤ 60 ms p95", "command": COMMAND},
        {"measure": "images sent per explanation (PNG), median",
         "value": f"{np.median(png_bytes) / 1000:.1f} KB", "command": COMMAND},
        {"measure": "explainer built (sub-model, once per run)", "value": f"{build_s * 1000:.0f} ms",
         "command": COMMAND},
        {"measure": f"occlusion map's positive mass within 1 px of the ink, {DIGITS} test digits: "
                    "median / 5th percentile",
         "value": f"{np.median(fractions):.1%} / {np.percentile(fractions, 5):.1%}",
         "goal": "≥ 80% / ≥ 65% (tests/test_explain.py)", "command": COMMAND},
    ]
    return {
        "title": "Explanations (Draw page: where it looks, what each layer sees)",
        "intro": (f"Run {predictor.run_id}, the first {DIGITS} MNIST test digits, one at a time, "
                  "after one warm-up."),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    return store_bench_main(measure, COMMAND, argv)


if __name__ == "__main__":
    raise SystemExit(main())
