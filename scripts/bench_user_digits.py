"""Your digits: the store's speed on a real SQLite file, and fine-tuning on one person's handwriting.

`python -m scripts.bench_user_digits [STORE RUN_ID]` prints one JSON line (scripts/bench.py's
generic section). With a run, it is fine-tuned (in a scratch copy of the store) on the block-letter
hand of `tests/kit/user_style_digits.py`: 20 of each digit, 4 of each held out; then on 100 and 500
digits for the time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SAVES = 200
WRITER_SAVES = 150
IMPORT_DIGITS = 10_000
ZIP_DIGITS = 1_000
COMMAND = "python -m scripts.bench_user_digits"

# A second process saving drawings one transaction each, as another browser session would.
WRITER = """
import sys, numpy as np
from training.runs.user_digits import NewDigit, UserDigitStore
store, rng = UserDigitStore(sys.argv[1]), np.random.default_rng(int(sys.argv[2]))
for n in range(int(sys.argv[3])):
    store.add(NewDigit(rng.integers(0, 256, (28, 28), dtype=np.uint8), n % 10, drawing_png=b"x" * 3000))
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    from tests.kit.drawn_digits import canvas_image, make_drawn_digits
    from training.data.mnist import load_mnist
    from training.data.preprocess import to_mnist
    from training.runs.user_digit_records import NewDigit, png_bytes
    from training.runs.user_digits import UserDigitStore
    from training.runs.user_digits_io import export_to, import_into

    mnist = load_mnist()
    drawings, labels = make_drawn_digits(SAVES, seed=3)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-user-digits-") as folder:
        folder = Path(folder)
        store = UserDigitStore(folder / "draw.sqlite3")
        # What the Draw page does on a click: the canvas as PNG, the 28×28 image, one transaction.
        digits = [NewDigit(to_mnist(drawing), int(label), drawing_png=png_bytes(np.asarray(
            canvas_image(drawing, "transparent-white"))), prediction=int(label), probabilities=[0.1] * 10,
            run_id="bench") for drawing, label in zip(drawings, labels, strict=True)]
        save_s = []
        for digit in digits:
            started = time.perf_counter()
            store.add(digit)
            save_s.append(time.perf_counter() - started)
        rows.append({"measure": f"save one drawn digit (PNG + 28×28, one transaction), median of {SAVES}",
                     "value": ms(float(np.median(save_s))), "goal": "< 100 ms", "command": COMMAND})
        rows.append({"measure": "… 95th percentile", "value": ms(float(np.percentile(save_s, 95))),
                     "goal": "", "command": COMMAND})
        count_s = []
        for _ in range(200):
            started = time.perf_counter()
            store.counts()
            count_s.append(time.perf_counter() - started)
        rows.append({"measure": f"the per-digit counter under an answer ({SAVES} digits saved), median",
                     "value": ms(float(np.median(count_s))), "goal": "< 10 ms", "command": COMMAND})

        shared = folder / "two.sqlite3"
        started = time.perf_counter()
        writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(shared), str(seed), str(WRITER_SAVES)],
                                    cwd=ROOT) for seed in (1, 2)]
        codes = [writer.wait(timeout=600) for writer in writers]
        both_s = time.perf_counter() - started
        saved = sum(UserDigitStore(shared).counts().values())
        rows.append({"measure": f"two processes saving {WRITER_SAVES} digits each at once: saved, lost",
                     "value": f"{saved} saved, {2 * WRITER_SAVES - saved} lost (exit codes {codes}), "
                              f"{both_s:.1f} s with start-up", "goal": "0 lost", "command": COMMAND})

        np.savez(folder / "mnist.npz", x=mnist.x_train[:IMPORT_DIGITS], y=mnist.y_train[:IMPORT_DIGITS])
        imported = UserDigitStore(folder / "import.sqlite3")
        started = time.perf_counter()
        result = import_into(imported, folder / "mnist.npz")
        import_s = time.perf_counter() - started
        rows.append({"measure": f"import an .npz of {IMPORT_DIGITS:,} digits (one transaction)",
                     "value": f"{import_s:.2f} s ({result.added:,} added)", "goal": "", "command": COMMAND})
        started = time.perf_counter()
        again = import_into(imported, folder / "mnist.npz")
        rows.append({"measure": "… the same file again (all duplicates, skipped)",
                     "value": f"{time.perf_counter() - started:.2f} s ({again.duplicates:,} skipped)",
                     "goal": "", "command": COMMAND})
        for kind in ("npz", "zip"):
            started = time.perf_counter()
            export_to(imported, folder / f"out.{kind}")
            size = (folder / f"out.{kind}").stat().st_size
            rows.append({"measure": f"export {IMPORT_DIGITS:,} digits as .{kind}",
                         "value": f"{time.perf_counter() - started:.2f} s, {size / 1e6:.1f} MB",
                         "goal": "", "command": COMMAND})
        small = UserDigitStore(folder / "small.sqlite3")
        small.add_many([NewDigit(x, int(y))
                        for x, y in zip(mnist.x_test[:ZIP_DIGITS], mnist.y_test[:ZIP_DIGITS], strict=True)])
        export_to(small, folder / "small.zip")
        started = time.perf_counter()
        import_into(UserDigitStore(folder / "from-zip.sqlite3"), folder / "small.zip")
        rows.append({"measure": f"import a zip of {ZIP_DIGITS:,} PNGs (each decoded safely)",
                     "value": f"{time.perf_counter() - started:.2f} s", "goal": "", "command": COMMAND})
    notes = []
    if len(argv) >= 2 and argv[1]:
        rows += finetune_rows(Path(argv[0]), argv[1], mnist)
        notes.append("Held-out digits are never trained on; MNIST test is the full 10,000. Floors: the "
                     "held-out accuracy rises by at least half of its error; MNIST test drops by at most "
                     "0.15 points.")
    print(json.dumps({
        "title": "Your digits: the user-digit store",
        "intro": "A real SQLite file in WAL mode (synchronous=FULL) on this machine's disk; the drawings "
                 "are 280×280 canvas PNGs from `tests/kit/drawn_digits.py` (seed 3).",
        "rows": rows,
        "notes": notes,
    }))
    return 0


def finetune_rows(store_root: Path, run_id: str, mnist) -> list[dict]:
    """Fine-tune the run on 200 user-style digits (before → after), then time 100 and 500."""
    import shutil

    import tensorflow  # noqa: F401  (imported once, outside the timings)

    from tests.kit.user_style_digits import make_user_style_digits
    from training.learn.finetune import finetune
    from training.runs.store import ModelStore
    from training.runs.user_digit_records import NewDigit
    from training.runs.user_digits import UserDigitStore

    command = f"{COMMAND} STORE RUN_ID"
    rows = []
    for per_digit in (20, 10, 50):
        with tempfile.TemporaryDirectory(prefix="bench-finetune-") as folder:
            store = ModelStore(Path(folder) / "store")
            shutil.copytree(store_root / "runs" / run_id, store.root / "runs" / run_id)
            store.set_active(run_id)
            digits = UserDigitStore(Path(folder) / "digits.sqlite3")
            x, y = make_user_style_digits(per_digit, seed=0)
            digits.add_many([NewDigit(image, int(label)) for image, label in zip(x, y, strict=True)])
            started = time.perf_counter()
            outcome = finetune(store, digits, data=mnist)
            seconds = time.perf_counter() - started
        before, after = outcome.before, outcome.after
        if per_digit == 20:
            held_before, held_after = before["user_held_out_accuracy"], after["user_held_out_accuracy"]
            floor = held_before + (1 - held_before) / 2
            drop = (before["mnist_test_accuracy"] - after["mnist_test_accuracy"]) * 100
            rows += [
                {"measure": f"held-out user-style accuracy ({before['user_held_out']} digits), "
                            "before → after",
                 "value": f"{held_before:.1%} → {held_after:.1%}",
                 "goal": f"≥ {floor:.1%} ({'met' if held_after >= floor else 'NOT met'})",
                 "command": command},
                {"measure": "MNIST test accuracy, before → after",
                 "value": f"{before['mnist_test_accuracy']:.2%} → {after['mnist_test_accuracy']:.2%} "
                          f"({-drop:+.2f} points)",
                 "goal": f"drop ≤ 0.15 points ({'met' if drop <= 0.15 else 'NOT met'})",
                 "command": command},
            ]
        rows.append({"measure": f"fine-tune on {10 * per_digit} user digits ({len(outcome.trained_ids)} "
                                f"trained on, {len(outcome.held_out_ids)} held out): finetune() wall time",
                     "value": f"{seconds:.1f} s", "goal": "≤ 30 s", "command": command})
    return rows


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
