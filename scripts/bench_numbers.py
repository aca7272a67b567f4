"""Whole numbers: the share of numbers composed from MNIST test digits read right, per kind (with
gaps, touching) and length, and the time to read a 5-digit number from its pixels.

`python -m scripts.bench_numbers STORE_DIR [RUN_ID] [--count N]` prints one JSON line (the active
run by default; N numbers per kind, lengths 2 to 5 in turn).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

COUNT = 200
TIMED = 100  # 5-digit numbers timed, after as many warm-up readings as it takes to trace


def main(argv: list[str] | None = None) -> int:
    from tests.kit.composed_numbers import KINDS, composed_numbers
    from training.data.mnist import load_mnist
    from training.reading.for_run import load_predictor
    from training.reading.numbers import read_number
    from training.runs.store import ModelStore

    parser = argparse.ArgumentParser(prog="python -m scripts.bench_numbers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("run_id", nargs="?", default=None)
    parser.add_argument("--count", type=int, default=COUNT)
    args = parser.parse_args(argv)
    mnist = load_mnist()
    predictor = load_predictor(ModelStore(args.store), args.run_id)
    report: dict = {"run": predictor.run_id, "count_per_kind": args.count, "kinds": {}}
    for kind in KINDS:
        numbers = composed_numbers(mnist.x_test, mnist.y_test, args.count, kind=kind, seed=0)
        read = [read_number(predictor, number.image).number for number in numbers]
        # What the model reads in each digit on its own: the ceiling finding the digits can reach.
        alone = ["".join(str(d) for d in predictor.probabilities_batch(mnist.x_test[list(n.sources)])
                         .argmax(axis=1)) for n in numbers]
        report["kinds"][kind] = {
            "right": _share([r == n.text for r, n in zip(read, numbers, strict=True)]),
            "digits_alone_right": _share([a == n.text for a, n in zip(alone, numbers, strict=True)]),
            "digit_count_right": _share([len(r) == len(n.text) for r, n in zip(read, numbers, strict=True)]),
            "right_by_length": {length: _share([r == n.text for r, n in zip(read, numbers, strict=True)
                                                if len(n.text) == length]) for length in (2, 3, 4, 5)},
        }
    report["five_digits_ms"] = _timings(predictor, mnist, read_number)
    print(json.dumps(report))
    return 0


def _timings(predictor, mnist, read_number) -> dict:
    """p50/p95 of reading a 5-digit number (with gaps) from its pixels: ink, digits found, read."""
    from tests.kit.composed_numbers import composed_numbers

    numbers = composed_numbers(mnist.x_test, mnist.y_test, TIMED, kind="gaps", lengths=(5,), seed=1)
    for number in numbers[:5]:
        read_number(predictor, number.image)
    seconds = []
    for number in numbers:
        started = time.perf_counter()
        read_number(predictor, number.image)
        seconds.append(time.perf_counter() - started)
    return {"p50": round(float(np.percentile(seconds, 50)) * 1000, 1),
            "p95": round(float(np.percentile(seconds, 95)) * 1000, 1)}


def _share(flags: list[bool]) -> float:
    return round(float(np.mean(flags)), 3) if flags else float("nan")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
