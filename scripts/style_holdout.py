"""Does an augmentation help the style it imitates? Train the default with one style held out of it.

`python -m scripts.style_holdout STYLE [STORE]` (STYLE: slant or pen) trains the default model, seed 0,
with that style's variation left out of the augmentation (slant: no shear; pen: no thinner or thicker
pens), saves it in STORE (a new temporary folder by default) and prints every source of
`scripts.bench_real_writers` for it. Compare with the same rows for a default run: the MNIST test
slices that style imitates (slanted left and right; thinnest and thickest pens) show what the
variation buys there, and the other sources what it costs. Two default trainings' time: not part
of `make bench`.
"""

from __future__ import annotations

import sys
import tempfile

from scripts.bench_real_writers import measure
from training.core.config import TrainConfig
from training.data import augment
from training.data.mnist import load_mnist
from training.jobs.runner import reading_files
from training.learn.train import train
from training.runs.store import ModelStore

# What each style's variation is, as the augmentation's settings that turn it off.
HELD_OUT = {
    "slant": {"MAX_SHEAR": 0.0},
    "pen": {"THIN_PEN_RATE": 0.0, "THICK_PEN_RATE": 0.0},
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in HELD_OUT:
        print(f"usage: python -m scripts.style_holdout {{{'|'.join(HELD_OUT)}}} [STORE]", file=sys.stderr)
        return 2
    for name, value in HELD_OUT[args[0]].items():
        setattr(augment, name, value)  # read when the augmentation is traced, at the first batch
    root = args[1] if len(args) > 1 else tempfile.mkdtemp(prefix=f"holdout-{args[0]}-")
    store = ModelStore(root)
    result = train(TrainConfig.for_architecture("cnn"), load_mnist())
    store.save(result.model, result.record, files=reading_files(result))
    print(f"{args[0]} held out of the augmentation: run {store.active_id()} in {root}")
    for row in measure(root, None)["rows"]:
        print(f"{row['measure']}: {row['value']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
