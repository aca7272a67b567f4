"""`python -m training predict`: the digit (or `--number`, the number) in each image file, with doubt."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from training.cli.console import MODELS_HELP, native_stderr_silenced
from training.data.preprocess import EmptyDrawingError, to_mnist
from training.data.segment import MAX_PARTS, TooManyPartsError
from training.reading.explain import explainer_for
from training.reading.explain_text import explanation_lines
from training.reading.for_run import NO_MODEL_MESSAGE, index_for_run, load_predictor
from training.reading.numbers import number_fields, read_number
from training.reading.predictor import Predictor, prediction_fields
from training.runs.store import ModelStore, Run, StoreError

# Files are preprocessed and classified this many at a time, printing as it goes.
PREDICT_CHUNK = 256


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `predict` on the `python -m training` command list."""
    predict = commands.add_parser(
        "predict", help="read the digit (or the number) in image files with a stored model",
        description="Read the handwritten digit in each image file (any size; light or dark ink, "
                    "transparent backgrounds too), preprocessed like MNIST; with --number, a whole "
                    "number, each of its digits read the same way.",
        epilog="Exit status: 0 when every file could be read, 1 when some file could not be read "
               f"(or, with --number, held more than {MAX_PARTS} digits) or there is no model, 2 for a "
               "usage error. An empty drawing is read but has no digit: it is reported as empty and "
               "does not change the exit status.")
    predict.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PNG, JPEG, ... images")
    predict.add_argument("--model", default=None, metavar="RUN_ID",
                         help="a run of the store (default: the active model)")
    predict.add_argument("--models", type=Path, default=None, metavar="DIR",
                         help=MODELS_HELP)
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
    predict.add_argument("--number", action="store_true",
                         help=f"read a whole number (up to {MAX_PARTS} digits, left to right) in each image; "
                              'with --json: {"file", "number", "unsure", "digits": [{"digit", '
                              '"probabilities", "unsure", "top_two", "box": [x0, y0, x1, y1]}]} (a digit '
                              'as --json prints one, and its box in the image\'s pixels), plus "message" '
                              'when unsure; or {"file", "error": "empty" | "unreadable" | '
                              '"too_many_parts", "message"}')
    predict.set_defaults(run=lambda args: _run(args, predict))


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.number and args.explain:
        parser.error("--explain reads one digit; it cannot be used with --number")
    if args.number:
        return run_predict_number(args.files, run_id=args.model, models=args.models, as_json=args.json)
    return run_predict(args.files, run_id=args.model, models=args.models, as_json=args.json,
                       explain=args.explain)


def run_predict(files: list[Path], *, run_id: str | None, models: Path | None, as_json: bool,
                explain: bool = False) -> int:
    """Print the digit and the ten probabilities for each file, in order; one model load for all.

    With `explain`, each answer also carries `saliency`: the 28×28 occlusion map of its digit, and
    `neighbours`: the 8 nearest MNIST training digits (index into the training set, label).
    """
    store = ModelStore(models)
    try:
        run = chosen_run(store, run_id)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    run_id, run_path = run.run_id, run.path
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
                    lines = explanation_lines(image28, np.array(result["saliency"]), result["digit"],
                                              [n["label"] for n in result["neighbours"]])
                    print("\n".join(lines), flush=True)
    return 0 if all_read else 1


def chosen_run(store: ModelStore, run_id: str | None) -> Run:
    """The run asked for, or the active one; checked before TensorFlow is imported, so that a
    missing model is reported at once.

    Raises:
        StoreError: there is no model, or no such run.
    """
    run_id = run_id or store.active_id()
    if run_id is None:
        raise StoreError(NO_MODEL_MESSAGE)
    return store.get(run_id)


def run_predict_number(files: list[Path], *, run_id: str | None, models: Path | None, as_json: bool) -> int:
    """Print the number in each file, in order: a line each, or one JSON object per line."""
    store = ModelStore(models)
    try:
        run = chosen_run(store, run_id)
        # TensorFlow's C++ start-up chatter would bury the lines this command prints.
        with native_stderr_silenced():
            predictor = load_predictor(store, run.run_id)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    all_read = True
    for path in files:
        result = number_result(predictor, path)
        all_read &= result.get("error", "empty") == "empty"
        _print_number(result, as_json)
    return 0 if all_read else 1


def number_result(predictor: Predictor, path: Path) -> dict:
    """What `predict --number --json` prints for one file: its number, or why there is none."""
    result: dict = {"file": str(path)}
    try:
        result.update(number_fields(read_number(predictor, path)))
    except EmptyDrawingError:
        result["error"] = "empty"
    except TooManyPartsError as error:
        result.update(error="too_many_parts", message=str(error))
    except ValueError as error:
        result.update(error="unreadable", message=str(error))
    return result


def saliency_rows(predictor, image28, digit: int) -> list[list[float]]:
    """The occlusion map of `digit` for one 28×28 image, as 28 rows of 28 numbers (4 decimals)."""
    saliency = explainer_for(predictor.model).occlusion_map(image28, target=digit)
    return [[round(float(value), 4) for value in row] for row in saliency]


def neighbour_lists(predictor, run_path: Path, images: list) -> list[list[dict]]:
    """For each 28×28 image, its 8 nearest MNIST training digits as [{"index", "label"}], nearest first."""
    index = index_for_run(run_path, predictor)  # built now (seconds) for a run saved without one
    features = predictor.features(np.stack(images))
    return [[{"index": n.index, "label": n.label} for n in index.nearest(row)] for row in features]


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


def _print_number(result: dict, as_json: bool) -> None:
    if as_json or "error" in result:
        _print_prediction(result, as_json)
    elif result["unsure"]:  # "2026 (Not sure about the 3rd digit — 2 or 7)": the number, then the doubt
        print(f"{result['file']}: {result['number']} ({result['message']})", flush=True)
    else:
        print(f"{result['file']}: {result['number']}", flush=True)
