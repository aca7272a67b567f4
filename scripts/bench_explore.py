"""What moves CNN training speed on this CPU: seconds per epoch for variants of the default setup.

`python -m scripts.bench_explore STORE RUN_ID` (arguments ignored; the bench passes them) runs each
variant in a fresh process (`python -m scripts.bench_explore --variant NAME`), timing one epoch
on 20,000 training images after a warm-up, and prints one JSON line for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

IMAGES = 20_000
ROUNDS = 2
FULL_EPOCH = 55_000
# name → (what changes, settings). The baseline is the default CNN's step: float32, batch 128.
VARIANTS = {
    "baseline": ("default CNN, float32, batch 128 (batch norm on TensorFlow's fused kernel)", {}),
    "keras-batch-norm": ("Keras 3's own batch norm (about ten element-wise ops, as before)",
                         {"keras_batch_norm": True}),
    "batch-64": ("batch 64", {"batch_size": 64}),
    "batch-256": ("batch 256", {"batch_size": 256}),
    "bfloat16": ("mixed bfloat16 (the CPU has AVX512_BF16)", {"precision": "mixed_bfloat16"}),
    "xla": ("XLA (`jit_compile=True`)", {"jit_compile": True}),
    "no-augment": ("augmentation off", {"augment": False}),
    "narrow": ("half the filters (8/32/64)", {"filters": (8, 32, 64)}),
    "first-block-32": ("32 filters in the first block (the old default)", {"filters": (32, 64, 128)}),
    "one-thread-pool": ("inter-op threads = 1", {"inter_op": 1}),
}


def time_variant(settings: dict) -> dict:
    import keras
    import tensorflow as tf

    if settings.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(settings["inter_op"])
    if settings.get("precision"):
        keras.mixed_precision.set_global_policy(settings["precision"])

    from training.core.config import TrainConfig
    from training.data.mnist import load_mnist
    from training.learn import models as models
    from training.learn.dataset import split, training_dataset

    config = TrainConfig(batch_size=settings.get("batch_size", 128), augment=settings.get("augment", True),
                         train_limit=IMAGES)
    x, y = split(load_mnist(), config)["train"]
    if settings.get("filters"):
        model = models.build_cnn(models.FusedBatchNormalization, filters_per_block=settings["filters"])
    else:
        model = models.build_model("cnn", for_training=not settings.get("keras_batch_norm"))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], jit_compile=settings.get("jit_compile", False))
    dataset = training_dataset(x, y, config, config.batch_size)
    # The training stream holds the config's epochs of steps (learn/train.py): far more than timed.
    model.fit(dataset, steps_per_epoch=10, verbose=0)  # compile and warm up before timing
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=IMAGES // config.batch_size, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    return {"epoch_s": round(seconds * FULL_EPOCH / IMAGES, 2), "params": model.count_params()}


def _time_in_fresh_process(name: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "scripts.bench_explore", "--variant", name],
                          capture_output=True, text=True, timeout=900)
    if done.returncode == 0:
        return json.loads(done.stdout.strip().splitlines()[-1])
    return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--variant"]:
        print(json.dumps(time_variant(VARIANTS[argv[1]][1])))
        return 0
    results: dict[str, dict] = {}
    # Round-robin, the best of ROUNDS per variant: this host's speed drifts by a quarter within the
    # hour, and one pass in a row put the baseline and the old width both at 28.3 s (alone: 17.4, 20.8).
    for round_number in range(1, ROUNDS + 1):
        for name in VARIANTS:
            print(f"bench_explore: {name}, round {round_number} …", file=sys.stderr, flush=True)
            result = _time_in_fresh_process(name)
            best = results.get(name, {"error": "not run"})
            if "error" in best or result.get("epoch_s", float("inf")) < best["epoch_s"]:
                results[name] = result
    baseline = results["baseline"].get("epoch_s")
    rows = []
    for name, (what, _) in VARIANTS.items():
        result = results[name]
        if "error" in result:
            rows.append({"measure": what, "value": "failed: " + result["error"][:120]})
            continue
        ratio = f" ({result['epoch_s'] / baseline:.2f}× baseline)" if baseline and name != "baseline" else ""
        value = f"{result['epoch_s']} s/epoch{ratio}, {result['params']:,} params"
        rows.append({"measure": what, "value": value,
                     "command": f"python -m scripts.bench_explore --variant {name}"})
    fastest = min((r["epoch_s"], n) for n, r in results.items() if "epoch_s" in r)
    print(json.dumps({
        "title": "Training speed: what was tried",
        "intro": (f"Seconds per epoch of 55,000 images, extrapolated from one timed epoch of {IMAGES:,} "
                  f"after a warm-up, each variant in a fresh process, the best of {ROUNDS} rounds taken "
                  "in turn. Accuracy per variant is in the training table above (the default keeps "
                  "float32, batch 128, full width)."),
        "rows": rows,
        "notes": [f"Fastest variant in this run: {fastest[1]} ({fastest[0]} s/epoch)."],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
