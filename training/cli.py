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
                       help="random shifts, rotation, scale, slant and pen width while training")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--limit", type=int, default=None, metavar="N",
                       help="train on the first N images only (quick runs)")
    train.add_argument("--data", type=Path, default=None, metavar="PATH",
                       help="mnist.npz or a folder of IDX files, used when the cache is empty")
    train.add_argument("--models", type=Path, default=None, metavar="DIR",
                       help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)")
    train.add_argument("--no-activate", action="store_true",
                       help="save the run without making it the active model")

    runs = commands.add_parser("runs", help="list the saved runs; * marks the active one")
    runs.add_argument("--models", type=Path, default=None, metavar="DIR",
                      help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)")
    runs.add_argument("--activate", default=None, metavar="RUN_ID", help="make this run the active one")

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
                         help='one JSON object per line: {"file", "digit", "probabilities"} or '
                              '{"file", "error": "empty" | "unreadable", "message"}')
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
                         activate=not args.no_activate)
    if args.command == "predict":
        return run_predict(args.files, run_id=args.model, models=args.models, as_json=args.json)
    if args.command == "runs":
        return run_list(models=args.models, activate=args.activate)
    if args.command == "user-digits":
        return user_digits_cli.main(args)
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


def run_train(config: TrainConfig, *, data_path: Path | None, models: Path | None,
              activate: bool) -> int:
    """Train with a terminal progress bar, save the run, print the test accuracy."""
    from training.console import ConsoleProgress
    from training.data import MnistUnavailableError, load_mnist
    from training.progress import CancelToken
    from training.store import ModelStore, StoreError

    progress = ConsoleProgress()
    try:
        data = load_mnist(data_path, on_status=progress.on_status)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    from training.train import train

    cancel = CancelToken()
    try:
        result = train(config, data, listener=progress, cancel=cancel)
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was saved.", file=sys.stderr)
        return 130
    try:
        run = ModelStore(models).save(result, activate=activate)
    except (OSError, StoreError) as error:
        print(f"error: the run could not be saved: {error}", file=sys.stderr)
        return 1
    print(f"Test accuracy: {result.test_accuracy:.2%} ({result.examples['test']:,} test images)")
    print(f"Trained in {result.duration_s:.0f} s; saved as {run.run_id} in {run.path.parent.parent}"
          + (" (active)" if activate else ""))
    return 0


def run_list(*, models: Path | None, activate: str | None) -> int:
    """Print one line per saved run, newest first, and one per damaged run skipped."""
    from training.store import ModelStore, StoreError

    store = ModelStore(models)
    if activate:
        try:
            store.set_active(activate)
        except StoreError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    runs, problems = store.scan()
    active = store.active_id()
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not runs:
        print(f"No saved runs in {store.root}: train one with `python -m training train`.")
    for run in runs:
        print(("* " if run.run_id == active else "  ") + run.summary())
    return 0


def run_predict(files: list[Path], *, run_id: str | None, models: Path | None, as_json: bool) -> int:
    """Print the digit and the ten probabilities for each file, in order; one model load for all."""
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
        store.get(run_id)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    import numpy as np

    from training.predict import load_predictor

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
            probabilities = iter(predictor.probabilities_batch(np.stack(images)) if images else [])
            for result in results:
                if "error" not in result:
                    row = next(probabilities)
                    result.update(digit=int(row.argmax()), probabilities=[float(p) for p in row])
                _print_prediction(result, as_json)
    return 0 if all_read else 1


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
        print(f"{result['file']}: error: {result['message']}", file=sys.stderr, flush=True)
    else:
        probabilities = result["probabilities"]
        digit = result["digit"]
        print(f"{result['file']}: {digit} ({probabilities[digit]:.1%} sure)")
        print("  " + "  ".join(f"{d}: {p:5.1%}" for d, p in enumerate(probabilities)), flush=True)
