"""The user-digit store's speed on a real SQLite file: saving, two writers, the counter, import, export.

`python -m scripts.bench_user_digits [STORE RUN_ID]` prints one JSON line (scripts/bench.py's
generic section). STORE and RUN_ID are accepted for bench.py's calling convention and unused here.
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
from training.user_digits import NewDigit, UserDigitStore
store, rng = UserDigitStore(sys.argv[1]), np.random.default_rng(int(sys.argv[2]))
for n in range(int(sys.argv[3])):
    store.add(NewDigit(rng.integers(0, 256, (28, 28), dtype=np.uint8), n % 10, drawing_png=b"x" * 3000))
"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    from scripts.drawn_digits import canvas_image, make_drawn_digits
    from training.data import load_mnist
    from training.preprocess import to_mnist
    from training.user_digits import NewDigit, UserDigitStore, png_bytes
    from training.user_digits_io import export_to, import_into

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
    print(json.dumps({
        "title": "Your digits: the user-digit store",
        "intro": "A real SQLite file in WAL mode (synchronous=FULL) on this machine's disk; the drawings "
                 "are 280×280 canvas PNGs from `scripts/drawn_digits.py` (seed 3).",
        "rows": rows,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
