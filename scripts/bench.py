"""`make bench`: run every benchmark on this machine and rewrite BENCHMARKS.md from the results.

Each measurement runs in its own process (`python -m scripts.bench_*`) that prints one JSON line;
this script only orchestrates and writes tables. No number in BENCHMARKS.md is typed by hand.
Set BENCH_QUICK=1 for a smoke run with short trainings (its numbers are marked as such).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "docs" / "benchmarks.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"

# The training runs, by name: the seed's MLP, the fastest run to 99.3%, the default model with
# and without augmentation. Quick mode trains on a subset for one epoch. The fast run: two epochs
# (one augmented, one plain) at the short-run rate (`training.core.config.SHORT_RUNS`).
TRAINING_RUNS = {
    "mlp-seed": {"architecture": "mlp"},
    "cnn-fast": {"architecture": "cnn", "epochs": 2, "augment": True},
    "cnn-default": {"architecture": "cnn"},
    "cnn-no-augment": {"architecture": "cnn", "augment": False},
}


def run_json(module: str, *args: str, timeout: float = 3600) -> dict:
    """Run `python -m module args...` and parse the last line of its output as JSON."""
    command = [sys.executable, "-m", module, *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{module} failed: {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def command_line(module: str, *args: str) -> str:
    return " ".join(["python -m", module, *[repr(a) if " " in a else a for a in args]])


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {
        name: metadata.version(name)
        for name in ("tensorflow", "keras", "numpy", "streamlit", "tensorflowjs", "pillow")
    }
    try:
        lock = json.loads((ROOT / "package-lock.json").read_text())
        versions["@tensorflow/tfjs-core"] = lock["packages"]["node_modules/@tensorflow/tfjs-core"]["version"]
    except (OSError, KeyError, ValueError):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "versions": versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--only"]:
        return measure_again(args[1:])
    results: dict = {"machine": machine()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as store:
        runs = {}
        for name, overrides in TRAINING_RUNS.items():
            config = dict(overrides)
            if QUICK:
                config.update(epochs=1, train_limit=5000)
            print(f"bench: training {name} …", file=sys.stderr, flush=True)
            runs[name] = attempt(lambda c=config: run_json("scripts.bench_training", json.dumps(c), store))
            runs[name]["command"] = command_line("scripts.bench_training", json.dumps(config), "STORE")
        results["training"] = runs
        print("bench: progress overhead …", file=sys.stderr, flush=True)
        results["overhead"] = attempt(lambda: run_json(*OVERHEAD))
        trained = [runs[n]["run_id"] for n in ("cnn-default", "cnn-no-augment") if "run_id" in runs[n]]
        if trained:
            print("bench: prediction …", file=sys.stderr, flush=True)
            results["predict"] = attempt(lambda: run_json("scripts.bench_predict", store, *trained))
            results["predict"]["names"] = {runs[n].get("run_id"): n for n in runs}
        for module in EXTRA_SECTIONS:
            print(f"bench: {module} …", file=sys.stderr, flush=True)
            results[module] = attempt(lambda m=module: run_json(m, store, trained[0] if trained else ""))
    results["total_s"] = round(time.perf_counter() - started)

    write(results)
    print(f"Wrote {OUTPUT.name} in {results['total_s']} s", file=sys.stderr)
    return 0


def measure_again(args: list[str]) -> int:
    """`python -m scripts.bench --only MODULE... [--store DIR]`: measure those sections again (on a
    quiet machine, say) and rewrite BENCHMARKS.md with them and the last full run's other sections.
    Each starts from an empty store, or reads the active run of the store DIR (a default training
    made with `python -m training train --models DIR`); the date of each is written beside the
    machine's."""
    modules, store_dir = args, None
    if "--store" in args:
        at = args.index("--store")
        modules, store_dir = args[:at] + args[at + 2:], (args[at + 1:at + 2] or [None])[0]
    unknown = [module for module in modules if module not in EXTRA_SECTIONS and module != OVERHEAD[0]]
    if not modules or unknown or not RESULTS.is_file() or ("--store" in args and not store_dir):
        print(f"usage: python -m scripts.bench --only MODULE... [--store DIR] after a full run; modules: "
              f"{', '.join([OVERHEAD[0], *EXTRA_SECTIONS])}", file=sys.stderr)
        return 2
    results = json.loads(RESULTS.read_text())
    with tempfile.TemporaryDirectory(prefix="bench-store-") as empty:
        for module in modules:
            print(f"bench: {module} …", file=sys.stderr, flush=True)
            if module == OVERHEAD[0]:  # trains on its own, in the full run's section
                results["overhead"] = attempt(lambda: run_json(*OVERHEAD))
            else:
                results[module] = attempt(lambda m=module: run_json(m, store_dir or empty, ""))
            results.setdefault("remeasured", {})[module] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    write(results)
    print(f"Wrote {OUTPUT.name} with {', '.join(modules)} measured again", file=sys.stderr)
    return 0


def write(results: dict) -> None:
    text = "\n".join(render(results)) + "\n"
    tmp = OUTPUT.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(OUTPUT)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


# What progress reporting costs a training (needs no store): the module and its repeats.
OVERHEAD = ("scripts.bench_overhead", "1" if QUICK else "5")

# Benchmarks owned by other parts (export bundle and browser, dashboard, load in browsers and over
# websockets); each module takes STORE RUN_ID and prints one JSON line. Missing modules are
# reported, not fatal.
EXTRA_SECTIONS = [
    "scripts.bench_speed",
    "scripts.bench_explore",
    "scripts.bench_export",
    "scripts.bench_dashboard",
    "scripts.bench_load",
    "scripts.bench_ws_load",
    "scripts.bench_multi_worker",
    "scripts.bench_user_digits",
    "scripts.bench_robustness",
    "scripts.bench_real_writers",
    "scripts.bench_explain",
    "scripts.bench_numbers",
]


def attempt(measure) -> dict:
    try:
        return measure()
    except Exception as error:
        return {"error": str(error).splitlines()[0] if str(error) else type(error).__name__}


def render(results: dict) -> list[str]:
    from scripts.bench_report import render_markdown

    return render_markdown(results, quick=QUICK)


if __name__ == "__main__":
    sys.exit(main())
