"""Command line: `python -m training train ...` and `python -m training predict ...`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from training import user_digits_cli
from training.config import ARCHITECTURES, DEFAULT_ARCHITECTURE, TrainConfig

EXIT_USAGE = 2
_MODELS_HELP = "model store folder (default: $MNIST_STUDIO_MODELS or ./models)"
# `predict` preprocesses and classifies files this many at a time, printing as it goes.
PREDICT_CHUNK = 256


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m training", description="Train and use MNIST models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)

    train = commands.add_parser("train", help="train a model on MNIST and save it in the store")
    train.add_argument("--arch", choices=ARCHITECTURES, default=DEFAULT_ARCHITECTURE,
                       help="cnn (default) or mlp (the 2022 seed's model)")
    for_arch = "default: depends on --arch, see README"
    train.add_argument("--epochs", type=int, default=None, help=for_arch)
    train.add_argument("--batch-size", type=int, default=None, help=for_arch)
    train.add_argument("--learning-rate", type=float, default=None,
                       help=f"Adam's (peak) learning rate ({for_arch})")
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="random shifts, rotation, scale, width, slant, pen width and gaps while training")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None, metavar="N",
                       help="train on the first N images only (quick runs)")
    train.add_argument("--data", type=Path, default=None, metavar="PATH",
                       help="mnist.npz or a folder of IDX files, used when the cache is empty")
    train.add_argument("--models", type=Path, default=None, metavar="DIR",
                       help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)")
    train.add_argument("--no-activate", action="store_true",
                       help="save the run without making it the active model")
    train.add_argument("--name", default="", help="a name for the run, shown next to its id")

    job = commands.add_parser("job", help="run a training job created in the store (the dashboard "
                                          "starts these)")
    job.add_argument("job_id", metavar="JOB_ID")
    job.add_argument("--models", type=Path, default=None, metavar="DIR", help=_MODELS_HELP)

    stop = commands.add_parser("stop", help="ask a running training to stop after its current batch")
    stop.add_argument("job_id", metavar="RUN_ID", help="the running training's id (see `runs`)")
    stop.add_argument("--models", type=Path, default=None, metavar="DIR", help=_MODELS_HELP)

    runs = commands.add_parser("runs", help="list the saved runs; * marks the active one")
    runs.add_argument("--models", type=Path, default=None, metavar="DIR",
                      help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)")
    runs.add_argument("--activate", default=None, metavar="RUN_ID", help="make this run the active one")
    runs.add_argument("--keep", default=None, metavar="RUN_ID",
                      help="save a stopped training's partial model as a run")
    runs.add_argument("--discard", default=None, metavar="RUN_ID",
                      help="forget a stopped training's partial model")

    predict = commands.add_parser(
        "predict", help="read the digit in image files with a stored model",
        description="Read the handwritten digit in each image file (any size; light or dark ink, "
                    "transparent backgrounds too), preprocessed like MNIST.",
        epilog="Exit status: 0 when every file could be read, 1 when some file could not be read "
               "or there is no model, 2 for a usage error. An empty drawing is read but has no "
               "digit: it is reported as empty and does not change the exit status.")
    predict.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PNG, JPEG, ... images")
    predict.add_argument("--model", default=None, metavar="RUN_ID",
                         help="a run of the store (default: the active model)")
    predict.add_argument("--models", type=Path, default=None, metavar="DIR",
                         help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)")
    predict.add_argument("--json", action="store_true",
                         help='one JSON object per line: {"file", "digit", "probabilities", "unsure", '
                              '"top_two"}, plus "not_a_digit" and "message" when unsure; or {"file", '
                              '"error": "empty" | "unreadable", "message"}')
    predict.add_argument("--explain", action="store_true",
                         help="also show why: the drawing next to its occlusion map (the map the Draw page "
                              "shows: how much blanking each region lowers the answer's score) and the "
                              "labels of the 8 nearest MNIST training digits in the model's last hidden "
                              "layer; with --json, as \"saliency\" (28x28) and \"neighbours\" "
                              "([{\"index\", \"label\"}], index into the official training set)")
    user_digits_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        try:
            config = TrainConfig.for_architecture(
                args.arch, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate=args.learning_rate, augment=args.augment, seed=args.seed,
                train_limit=args.limit,
            )
        except ValueError as error:
            parser.exit(EXIT_USAGE, f"python -m training train: error: {error}\n")
        return run_train(config, data_path=args.data, models=args.models,
                         activate=not args.no_activate, name=args.name)
    if args.command == "job":
        return run_job_command(args.job_id, models=args.models)
    if args.command == "stop":
        return run_stop(args.job_id, models=args.models)
    if args.command == "predict":
        return run_predict(args.files, run_id=args.model, models=args.models, as_json=args.json,
                           explain=args.explain)
    if args.command == "runs":
        return run_list(models=args.models, activate=args.activate, keep=args.keep,
                        discard=args.discard)
    if args.command == "user-digits":
        return user_digits_cli.main(args)
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


def run_train(config: TrainConfig, *, data_path: Path | None, models: Path | None,
              activate: bool, name: str = "") -> int:
    """Train as a job of the store (visible on the Train page), with a terminal progress bar."""
    # TensorFlow's C++ start-up chatter (CUDA factories, computation placer, cuInit) is about ten
    # lines on a machine without a GPU: kept off the terminal. Nothing else prints meanwhile.
    with native_stderr_silenced():
        import tensorflow  # noqa: F401
    from training.distribute import WorkerLostError, choose_placement, in_cluster

    try:
        if in_cluster():  # the cluster watchdog reports on stderr: it must not be silenced
            choose_placement()
        else:
            with native_stderr_silenced():
                choose_placement()  # TensorFlow's runtime starts here (cuInit), still silenced
    except WorkerLostError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        os._exit(1)  # TensorFlow's collective threads may hang a normal exit after a lost peer
    from training.console import ConsoleProgress
    from training.data import MnistUnavailableError, load_mnist
    from training.distribute import is_chief_task

    progress = ConsoleProgress()
    try:
        data = load_mnist(data_path, on_status=progress.on_status)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not is_chief_task():
        return _train_as_worker(config, data, progress)

    from training.job_runner import run_job
    from training.jobs import FINISHED, STOPPED, JobStore
    from training.store import ModelStore

    os.nice(10)  # a dashboard on the same machine answers first; alone, the training loses nothing
    jobs = JobStore(ModelStore(models))
    spec = jobs.create(config, activate=activate, name=name, source="cli")
    code = run_job(jobs, spec.job_id, data=data, console=progress)
    view = jobs.view(spec.job_id)
    if view.phase == FINISHED:
        outcome = view.outcome
        print(f"Test accuracy: {outcome['test_accuracy']:.2%}")
        print(f"Trained in {outcome.get('duration_s', 0):.0f} s; saved as {spec.job_id} in "
              f"{jobs.store.root}. {outcome.get('note', '')}")
    elif view.phase == STOPPED:
        print(f"{view.stop_description()} Test accuracy {view.outcome['test_accuracy']:.2%}.")
        print(f"Keep it with `python -m training runs --keep {spec.job_id}` (or --discard).")
        return 130
    else:
        print(f"error: training failed: {view.error}", file=sys.stderr)
    if in_cluster():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # TensorFlow's collective threads may hang a normal exit in a cluster
    return code


def _train_as_worker(config: TrainConfig, data, progress) -> int:
    """A worker other than the chief: train its share, save nothing, exit 0."""
    from training.distribute import WorkerLostError
    from training.train import train

    try:
        train(config, data, listener=progress)
    except WorkerLostError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        os._exit(1)  # TensorFlow's collective threads may hang a normal exit after a lost peer
    print("Worker finished its share; the chief saves the run.", flush=True)
    # Leaving before the chief would look like a crash to TensorFlow's coordination service (the
    # chief runs it): wait for the chief to finish saving and exit, then leave quietly.
    from training.distribute import wait_for_chief_to_exit

    with native_stderr_silenced():
        wait_for_chief_to_exit()
    os._exit(0)


def run_job_command(job_id: str, *, models: Path | None) -> int:
    """Run a job the dashboard created; its output goes to the job's log, not a terminal."""
    from training.job_runner import run_job
    from training.jobs import JobStore
    from training.store import ModelStore, StoreError

    os.nice(10)  # a training never slows the dashboard's answers: the server's threads come first
    try:
        return run_job(JobStore(ModelStore(models)), job_id)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run_stop(job_id: str, *, models: Path | None) -> int:
    """Ask a running job to stop; it stops after its current batch."""
    from training.jobs import JobStore
    from training.store import ModelStore, StoreError

    jobs = JobStore(ModelStore(models))
    try:
        view = jobs.view(job_id)
    except StoreError:
        print(f"error: no training named {job_id} in {jobs.store.root}", file=sys.stderr)
        return 1
    if not view.running:
        print(f"error: {job_id} is not running ({view.phase})", file=sys.stderr)
        return 1
    jobs.request_stop(job_id)
    print(f"Asked {job_id} to stop after its current batch.")
    return 0


def run_list(*, models: Path | None, activate: str | None, keep: str | None = None,
             discard: str | None = None) -> int:
    """Print the running and stopped trainings, then one line per saved run, newest first."""
    from training.console import format_duration
    from training.jobs import STOPPED, JobStore
    from training.store import ModelStore, StoreError

    store = ModelStore(models)
    jobs = JobStore(store)
    try:
        if activate:
            store.set_active(activate)
        if keep:
            print(jobs.keep(keep))
        if discard:
            jobs.discard(discard)
            print(f"Discarded the partial model of {discard}.")
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for view in jobs.views():
        if view.running:
            progress = view.progress
            where = (f"epoch {progress.epoch}/{progress.epochs}, batch {progress.batch}/{progress.batches}"
                     if progress else view.status)
            print(f"~ {view.job_id}: training ({where}, {format_duration(view.elapsed_s)} elapsed)")
        elif view.phase == STOPPED:
            print(f"? {view.job_id}: {view.stop_description()} Keep it with --keep {view.job_id}.")
        elif view.phase in ("failed", "interrupted"):
            print(f"! {view.job_id}: {view.phase}: {view.error}")
    runs, problems = store.scan()
    active = store.active_id()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not runs:
        print(f"No saved runs in {store.root}: train one with `python -m training train`.")
    for run in runs:
        print(("* " if run.run_id == active else "  ") + run.summary())
    return 0


def run_predict(files: list[Path], *, run_id: str | None, models: Path | None, as_json: bool,
                explain: bool = False) -> int:
    """Print the digit and the ten probabilities for each file, in order; one model load for all.

    With `explain`, each answer also carries `saliency`: the 28×28 occlusion map of its digit, and
    `neighbours`: the 8 nearest MNIST training digits (index into the training set, label).
    """
    from concurrent.futures import ThreadPoolExecutor

    from training.preprocess import EmptyDrawingError, to_mnist
    from training.store import ModelStore, StoreError

    store = ModelStore(models)
    try:
        # Checked before TensorFlow is imported, so that a missing model is reported at once.
        run_id = run_id or store.active_id()
        if run_id is None:
            from training.predict import NO_MODEL_MESSAGE

            raise StoreError(NO_MODEL_MESSAGE)
        run_path = store.get(run_id).path
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    import numpy as np

    from training.predict import load_predictor, prediction_fields

    all_read = True
    # TensorFlow's C++ start-up chatter would bury the lines this command prints: fd 2 is quiet
    # until the model is loaded (nothing is printed before that).
    quiet = contextlib.ExitStack()
    with quiet, ThreadPoolExecutor(max_workers=1) as pool:
        quiet.enter_context(native_stderr_silenced())
        # TensorFlow takes seconds to import: it loads while the first files are read.
        loading = pool.submit(load_predictor, store, run_id)
        for start in range(0, len(files), PREDICT_CHUNK):
            results: list[dict] = []
            images = []
            for path in files[start:start + PREDICT_CHUNK]:
                try:
                    images.append(to_mnist(path))
                    results.append({"file": str(path)})
                except EmptyDrawingError:
                    results.append({"file": str(path), "error": "empty"})
                except ValueError as error:
                    results.append({"file": str(path), "error": "unreadable", "message": str(error)})
                    all_read = False
            try:
                predictor = loading.result()
            except StoreError as error:
                quiet.close()
                print(f"error: {error}", file=sys.stderr)
                return 1
            quiet.close()
            answers = iter(zip(*predictor.judge_batch(np.stack(images)), strict=True) if images else [])
            read = iter(images)
            try:
                nearest = iter(neighbour_lists(predictor, run_path, images) if explain and images else [])
            except ValueError as error:  # the index could not be built (MNIST unreadable)
                print(f"error: {error}", file=sys.stderr)
                return 1
            for result in results:
                if "error" not in result:
                    result.update(prediction_fields(*next(answers)))
                    if explain:
                        image28 = next(read)
                        result["saliency"] = saliency_rows(predictor, image28, result["digit"])
                        result["neighbours"] = next(nearest)
                _print_prediction(result, as_json)
                if explain and not as_json and "saliency" in result:
                    from training.explain_text import explanation_lines

                    lines = explanation_lines(image28, np.array(result["saliency"]), result["digit"],
                                              [n["label"] for n in result["neighbours"]])
                    print("\n".join(lines), flush=True)
    return 0 if all_read else 1


def saliency_rows(predictor, image28, digit: int) -> list[list[float]]:
    """The occlusion map of `digit` for one 28×28 image, as 28 rows of 28 numbers (4 decimals)."""
    from training.explain import explainer_for

    saliency = explainer_for(predictor.model).occlusion_map(image28, target=digit)
    return [[round(float(value), 4) for value in row] for row in saliency]


def neighbour_lists(predictor, run_path: Path, images: list) -> list[list[dict]]:
    """For each 28×28 image, its 8 nearest MNIST training digits as [{"index", "label"}], nearest first."""
    import numpy as np

    from training.neighbours import index_for_run

    index = index_for_run(run_path, predictor)  # built now (seconds) for a run saved without one
    features = predictor.features(np.stack(images))
    return [[{"index": n.index, "label": n.label} for n in index.nearest(row)] for row in features]


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ core logs there whatever the level."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _print_prediction(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result), flush=True)
    elif result.get("error") == "empty":
        print(f"{result['file']}: empty drawing, no digit to read", flush=True)
    elif "error" in result:
        # "nope.png: error: does not exist", not the path twice (the message names the file for --json).
        message = result["message"].removeprefix(f"{result['file']} ")
        print(f"{result['file']}: error: {message}", file=sys.stderr, flush=True)
    else:
        probabilities = result["probabilities"]
        digit = result["digit"]
        if result.get("unsure"):  # the doubt first, then the guess: not "2 (92.5% sure; not a digit)"
            print(f"{result['file']}: {result['message']} (best guess {digit}, {probabilities[digit]:.1%})")
        else:
            print(f"{result['file']}: {digit} ({probabilities[digit]:.1%} sure)")
        print("  " + "  ".join(f"{d}: {p:5.1%}" for d, p in enumerate(probabilities)), flush=True)
