"""Robustness, calibration and doubt of one run: the hard check set per style, ECE, unsure rates.

`python -m scripts.bench_robustness STORE RUN_ID` (the active run when RUN_ID is empty) prints one
JSON line in the shape `scripts.bench_report.render_generic` turns into a table for BENCHMARKS.md.
"""

from __future__ import annotations

import time

import numpy as np

from scripts.bench_cli import store_bench_main

COMMAND = "python -m scripts.bench_robustness STORE RUN_ID"
NONDIGIT_SEED = 1
LOOKALIKES = 10
MIN_MISREAD = 5  # a style's own lookalike row from this many misread digits


def measure(store_root: str, run_id: str | None) -> dict:
    from tests.kit.hard_digits import STYLES, hard_inputs, per_style_accuracy
    from tests.kit.nondigits import KINDS, nondigit_inputs
    from training.data.mnist import load_mnist
    from training.learn.calibrate import expected_calibration_error
    from training.reading.for_run import load_predictor
    from training.reading.predictor import softmax
    from training.runs.store import ModelStore

    started = time.perf_counter()
    store = ModelStore(store_root)
    predictor = load_predictor(store, run_id or None)
    run_path = store.get(predictor.run_id).path
    load_s = time.perf_counter() - started
    mnist = load_mnist()
    hard_x, hard_y, hard_styles = hard_inputs()
    # Seed 1: the rule's two settings (FLAG_RATE, COMPONENTS) were chosen looking at seed 0.
    other_x, other_kinds = nondigit_inputs(seed=NONDIGIT_SEED)

    def judged(images):
        logits = predictor.logits_batch(images)
        probabilities, verdicts = predictor.judge_batch(images)
        return logits, probabilities, np.array([v.unsure for v in verdicts])

    test_logits, test_p, test_flag = judged(mnist.x_test)
    hard_logits, hard_p, hard_flag = judged(hard_x)
    _, _, other_flag = judged(other_x)
    hard = per_style_accuracy(hard_p.argmax(axis=1), hard_y, hard_styles)

    def ece(logits, labels, temperature):
        return expected_calibration_error(softmax(logits / temperature), labels)

    t = predictor.temperature
    low, high = ece_change_interval(hard_logits, hard_y, t)
    rows = [
        {"measure": "MNIST test accuracy", "value": pct(float((test_p.argmax(1) == mnist.y_test).mean())),
         "goal": "≥ 99.6%"},
        {"measure": "… from the image alone, without the four shifted views (`training.data.shifts`)",
         "value": pct(float((predictor.image_logits(mnist.x_test).argmax(1) == mnist.y_test).mean())),
         "goal": ""},
        {"measure": "hard set accuracy, all 14 styles", "value": pct(hard["overall"]), "goal": "≥ 98%"},
        {"measure": "… from the image alone, without the shifted views",
         "value": pct(float((predictor.image_logits(hard_x).argmax(1) == hard_y).mean())), "goal": ""},
        *[{"measure": f"hard set: {style}", "value": pct(hard[style]), "goal": "≥ 95%"} for style in STYLES],
        *lookalike_rows(predictor, run_path, hard_x, hard_y, hard_p.argmax(axis=1), hard_styles),
        {"measure": "temperature (fitted on validation)", "value": f"{t:.3f}", "goal": ""},
        {"measure": "ECE, MNIST test: T = 1 → fitted T",
         "value": f"{pct(ece(test_logits, mnist.y_test, 1.0))} → {pct(ece(test_logits, mnist.y_test, t))}",
         "goal": "≤ 1% after"},
        {"measure": "ECE, hard set: T = 1 → fitted T",
         "value": f"{pct(ece(hard_logits, hard_y, 1.0))} → {pct(ece(hard_logits, hard_y, t))}",
         "goal": "lower after"},
        {"measure": "ECE change on the hard set, 95% bootstrap interval (1,000 resamples)",
         "value": f"{low:+.2%} to {high:+.2%}", "goal": ""},
        {"measure": "NLL (the loss T minimises), MNIST test: T = 1 → fitted T",
         "value": nll_change(test_logits, mnist.y_test, t), "goal": ""},
        {"measure": "NLL, hard set: T = 1 → fitted T",
         "value": nll_change(hard_logits, hard_y, t), "goal": ""},
        {"measure": "non-digits flagged unsure, all kinds", "value": pct(float(other_flag.mean())),
         "goal": "≥ 80%"},
        *[{"measure": f"non-digits flagged: {kind}", "goal": "",
           "value": pct(float(other_flag[other_kinds == kind].mean()))} for kind in KINDS],
        {"measure": "MNIST test digits flagged unsure", "value": pct(float(test_flag.mean())),
         "goal": "≤ 2%"},
        {"measure": "hard set digits flagged unsure", "value": pct(float(hard_flag.mean())), "goal": "≤ 5%"},
        {"measure": "… of the hard set digits it misreads (it says which two it could be)",
         "value": share_of(hard_flag, hard_p.argmax(1) != hard_y), "goal": ""},
        {"measure": "MNIST test accuracy of the digits not flagged",
         "value": pct(float((test_p.argmax(1) == mnist.y_test)[~test_flag].mean())), "goal": ""},
        {"measure": "predictor load, doubt statistics included", "value": f"{load_s:.1f} s", "goal": ""},
    ]
    for row in rows:
        row["command"] = COMMAND
    doubt = predictor.doubt
    return {
        "title": "Robustness, calibration and doubt",
        "intro": (
            f"Run {predictor.run_id}. The hard set is `tests/kit/hard_digits.py` (seed 0, 200 images per "
            "style, labels by construction, never tuned to a model); non-digits are "
            f"`tests/kit/nondigits.py` (seed {NONDIGIT_SEED}, {len(other_x) // len(KINDS)} per kind; "
            "the rule's settings were chosen on seed 0). ECE uses 15 "
            "equal-width bins. A drawing is flagged when its calibrated top probability is below "
            f"{doubt.min_confidence:.3f} or its feature distance to the nearest digit is above "
            f"{doubt.max_distance:.1f}; both thresholds are read off the validation split."
        ) if doubt else f"Run {predictor.run_id}.",
        "rows": rows,
        "hard_per_style": hard,
    }


def lookalike_rows(predictor, run_path, images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                   styles: np.ndarray, count: int = LOOKALIKES) -> list[dict]:
    """How often a digit's nearest MNIST training digits carry the label the model answered.

    For a misread digit a high share means MNIST itself labels that shape so: its writers drew
    those digits alike. Digits read right give the share to compare with.
    """
    from training.reading.for_run import index_for_run

    index = index_for_run(run_path, predictor)  # the run's own index, as the Draw page uses
    features = predictor.features(images)
    share = (index.labels[index.positions(features, count)] == predicted[:, None]).mean(axis=1)
    wrong = predicted != labels

    def row(name: str, mask: np.ndarray) -> dict:
        return {"measure": f"{name}: share of their {count} nearest MNIST training digits with the "
                           "label the model answered", "goal": "",
                "value": f"{share[mask].mean():.0%} ({int(mask.sum())} digits)"}

    rows = [row("hard set digits read right", ~wrong)]
    if wrong.any():
        rows.append(row("hard set digits misread", wrong))
    for style in sorted(set(styles[wrong]), key=lambda style: -(wrong & (styles == style)).sum()):
        if (wrong & (styles == style)).sum() >= MIN_MISREAD:
            rows.append(row(f"… {style} misread", wrong & (styles == style)))
    return rows


def nll_change(logits: np.ndarray, labels: np.ndarray, temperature: float) -> str:
    """'0.0502 → 0.0498': the mean negative log-likelihood at T = 1, then at the fitted T."""
    from training.learn.calibrate import negative_log_likelihood

    return (f"{negative_log_likelihood(logits, labels):.4f} → "
            f"{negative_log_likelihood(logits, labels, temperature):.4f}")


def ece_change_interval(logits: np.ndarray, labels: np.ndarray, temperature: float,
                        resamples: int = 1_000) -> tuple[float, float]:
    """95% bootstrap interval of ECE(fitted T) − ECE(T = 1): whether a change is more than noise."""
    from training.learn.calibrate import expected_calibration_error
    from training.reading.predictor import softmax

    before, after = softmax(logits), softmax(logits / temperature)
    rng = np.random.default_rng(0)
    changes = []
    for _ in range(resamples):
        pick = rng.integers(0, len(labels), len(labels))
        changes.append(expected_calibration_error(after[pick], labels[pick])
                       - expected_calibration_error(before[pick], labels[pick]))
    return float(np.percentile(changes, 2.5)), float(np.percentile(changes, 97.5))


def share_of(flag: np.ndarray, among: np.ndarray) -> str:
    """'55% (28 of 51)': how many of the `among` rows are flagged."""
    if not among.any():
        return "none to flag"
    return f"{flag[among].mean():.0%} ({int(flag[among].sum())} of {int(among.sum())})"


def pct(value: float) -> str:
    return f"{value:.2%}"


def main(argv: list[str] | None = None) -> int:
    return store_bench_main(measure, COMMAND, argv)


if __name__ == "__main__":
    raise SystemExit(main())
