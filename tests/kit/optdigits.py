"""Real digits by writers outside MNIST, placed on the canvas the way a drawing arrives.

scikit-learn's `load_digits()` ships UCI optdigits: 1,797 digits by 43 writers, scanned and reduced
to 8×8 counts (0–16). Indices 0–899 are the project's check: each digit is scaled up (bilinear, as a
low-resolution scan is when enlarged) to a random size and put at a random place on a 280×280 canvas,
then goes through the same `to_mnist` as a drawing. Nothing is ever trained or fitted on them
(thresholds included), and indices 900–1796 are held back untouched: they judge the project from
outside.

    python -m tests.kit.optdigits --evaluate [--models DIR] [--model RUN_ID]
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from PIL import Image

CANVAS = 280
CHECK_INDICES = range(900)
HEIGHT_PX = (110, 230)  # the digit's height on the canvas; 8×8 digits fill their box top to bottom


def optdigits_canvas(indices: range = CHECK_INDICES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 280, 280) light ink on black, and the labels (N,). The same seed, the same images."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    images = []
    for index in indices:
        ink = Image.fromarray((digits.images[index] * (255 / 16)).astype(np.uint8), "L")
        height = int(rng.integers(*HEIGHT_PX))
        width = int(height * rng.uniform(0.8, 1.0))
        ink = ink.resize((width, height), Image.BILINEAR)
        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        place = (int(rng.integers(0, CANVAS - width + 1)), int(rng.integers(0, CANVAS - height + 1)))
        canvas.paste(ink, place)
        images.append(np.asarray(canvas))
    return np.stack(images), digits.target[list(indices)].astype(np.uint8)


def optdigits_inputs(indices: range = CHECK_INDICES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The check as the model sees it: `to_mnist` images (N, 28, 28) and labels."""
    from training.data.preprocess import to_mnist

    images, labels = optdigits_canvas(indices, seed)
    return np.stack([to_mnist(Image.fromarray(image, "L")) for image in images]), labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kit.optdigits",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", action="store_true", help="accuracy and doubt of a stored model")
    parser.add_argument("--models", default=None)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    if not args.evaluate:
        parser.error("nothing to do: pass --evaluate")
    from training.reading.for_run import load_predictor
    from training.runs.store import ModelStore

    predictor = load_predictor(ModelStore(args.models), args.model)
    inputs, labels = optdigits_inputs()
    probabilities, verdicts = predictor.judge_batch(inputs)
    print(json.dumps({"accuracy": float((probabilities.argmax(1) == labels).mean()),
                      "flagged": float(np.mean([v.unsure for v in verdicts]))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
