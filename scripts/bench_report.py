"""Turns the benchmark results (one dict) into BENCHMARKS.md's tables."""

from __future__ import annotations


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def failed(section: dict) -> list[str]:
    return [f"*Not measured: {section['error']}*", ""] if "error" in section else []


def render_markdown(results: dict, *, quick: bool) -> list[str]:
    machine = results["machine"]
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m scripts.bench`); every number below comes from that run.",
        "Timings are wall-clock on the machine named here; the tests assert none of them.",
        "",
    ]
    if quick:
        out += ["**Quick mode (BENCH_QUICK=1): trainings are shortened, accuracies are not final.**", ""]
    out += table(
        ["machine", "value"],
        [
            ["CPU", machine["cpu"]],
            ["cores", machine["cores"]],
            ["Python", machine["python"]],
            ["date", machine["date"]],
            ["total bench time", f"{results.get('total_s', 0)} s"],
        ]
        + [[f"{module.removeprefix('scripts.')} measured again", date]
           for module, date in results.get("remeasured", {}).items()]
        + [[name, version] for name, version in machine["versions"].items()],
    )
    out += render_training(results.get("training", {}))
    out += render_overhead(results.get("overhead", {}))
    out += render_predict(results.get("predict", {}))
    for key, section in results.items():
        if key.startswith("scripts.bench_"):
            out += render_generic(key, section)
    return out


def render_training(runs: dict) -> list[str]:
    out = [
        "## Training: time to accuracy",
        "",
        "From a warm data cache; `train s` is `model.fit` time, `wall s` adds model building and "
        "the single test-set evaluation. Validation is the last 5,000 training images; the test "
        "set is used once, after training.",
        "",
    ]
    rows = []
    for name, run in runs.items():
        if "error" in run:
            rows.append([name, "failed: " + run["error"], "", "", "", "", "", ""])
            continue
        config = run["config"]
        rows.append(
            [
                name,
                config["architecture"],
                config["epochs"],
                config["batch_size"],
                config["learning_rate"],
                "yes" if config["augment"] else "no",
                f"**{pct(run['test_accuracy'])}**",
                run["train_s"],
                run["wall_s"],
                run["peak_rss_mb"],
            ]
        )
    out += table(
        [
            "run",
            "arch",
            "epochs",
            "batch",
            "lr",
            "augment",
            "test accuracy",
            "train s",
            "wall s",
            "peak RSS MB",
        ],
        rows,
    )
    out += ["Validation accuracy per epoch:", ""]
    out += [
        f"- {name}: {', '.join(pct(v) for v in run.get('val_accuracy', []))}"
        for name, run in runs.items()
        if "val_accuracy" in run
    ]
    out += ["", "Commands (STORE is a temporary model store):", ""]
    out += [f"- {name}: `{run['command']}`" for name, run in runs.items() if "command" in run]
    return [*out, ""]


def render_overhead(section: dict) -> list[str]:
    out = [
        "## Progress reporting overhead",
        "",
        "`python -m scripts.bench_overhead 5`: one epoch "
        "of the CNN on 20,000 images, bare `train()` against `train()` writing a job's event log "
        "(batch events, epoch metrics, TensorBoard scalars, stop-file checks), alternated in one "
        "process, medians.",
        "",
    ]
    if failed(section):
        return out + failed(section)
    return out + table(
        ["bare train s", "with event log s", "overhead", "goal"],
        [[section["bare_s"], section["reported_s"], f"{section['overhead_pct']:+.2f}%", "≤ 3%"]],
    )


def render_predict(section: dict) -> list[str]:
    out = [
        "## Prediction (server side)",
        "",
        "`python -m scripts.bench_predict STORE RUN_ID...`: 1,000 drawn digits from "
        "`tests/kit/drawn_digits.py` (seed 0, strokes of varied width, position, size and slant, "
        "rendered at 280×280; never tuned to a model).",
        "",
    ]
    if failed(section):
        return out + failed(section)
    names = section.get("names", {})
    rows = [
        [
            names.get(run_id, run_id),
            "yes" if r["augment"] else "no",
            f"**{pct(r['mnist_test'])}**",
            f"**{pct(r['drawn_to_mnist'])}**",
            pct(r["drawn_plain_resize"]),
        ]
        for run_id, r in section["runs"].items()
    ]
    out += table(
        ["model", "augmented", "MNIST test", "drawn digits, to_mnist", "drawn digits, plain resize"], rows
    )
    latency = section["latency"]
    out += table(
        ["measure", "value", "goal"],
        [
            [
                "preprocess (`to_mnist`) p50 / p95",
                f"{latency['preprocess_p50_ms']} / {latency['preprocess_p95_ms']} ms",
                "",
            ],
            [
                "preprocess + predict p50 / p95",
                f"{latency['total_p50_ms']} / {latency['total_p95_ms']} ms",
                "p95 ≤ 15 ms",
            ],
            ["bare `model.predict` p50 (for comparison)", f"{latency['model_predict_p50_ms']} ms", ""],
            [
                "RSS before / after 1,000 predictions",
                f"{section['memory']['rss_before_mb']} / {section['memory']['rss_after_1000_mb']} MB",
                "no growth",
            ],
            [
                "`python -m training predict --json` on 1,000 PNG files",
                f"{section['cli_1000_files_s']} s",
                "< 20 s",
            ],
        ],
    )
    return out


def render_generic(key: str, section: dict) -> list[str]:
    """Sections from other modules: {"title", "intro", "rows": [{measure, value, goal, command}]}."""
    title = section.get("title") or key.removeprefix("scripts.bench_").title()
    out = [f"## {title}", ""]
    if section.get("intro"):
        out += [section["intro"], ""]
    if failed(section):
        return out + failed(section)
    out += table(
        ["measure", "value", "goal", "command"],
        [
            [
                r.get("measure", ""),
                r.get("value", ""),
                r.get("goal", ""),
                f"`{r['command']}`" if r.get("command") else "",
            ]
            for r in section.get("rows", [])
        ],
    )
    return out + [f"- {note}" for note in section.get("notes", [])] + [""]
