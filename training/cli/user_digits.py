"""`python -m training user-digits list|add|import|export|finetune|clear`: your digits from a terminal.

Fine-tuning imports TensorFlow: its modules are imported inside the commands that fine-tune.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.cli.console import EXIT_USAGE, MODELS_HELP, ConsoleProgress, native_stderr_silenced
from training.core.config import FineTuneSettings
from training.core.errors import first_line
from training.data.mnist import MnistUnavailableError
from training.jobs.finetune import measure_advice_for, numbers_table
from training.runs.store import ModelStore, StoreError
from training.runs.user_digits import UserDigitsError, UserDigitStore, default_path
from training.runs.user_digits_io import ImportRefused, digit_from_image, export_to, import_into


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `user-digits` and its subcommands on the `python -m training` command list."""
    parser = commands.add_parser(
        "user-digits", help="your own labelled digits: list, add, import, export, finetune, clear",
        description="The digits you saved (on the Draw page or here), used to measure and fine-tune "
                    "the model on your handwriting. The 2nd, 7th, 12th … digit of each label is held "
                    "out: never trained on, only measured.")
    _where_options(parser, default=None)
    # Accepted after the action too (`user-digits list --db FILE`), where people also put them;
    # SUPPRESS keeps an action's missing option from overwriting the one given before it.
    where = argparse.ArgumentParser(add_help=False)
    _where_options(where, default=argparse.SUPPRESS)
    actions = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))

    def action(name: str, **options) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=[where], **options)

    action("list", help="how many digits of each kind are saved (and held out)")
    add = action("add", help="save image files as digits with the label you give")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PNG, JPEG, ... images of one digit")
    add.add_argument("--label", type=_digit, required=True, metavar="D", help="the digit they show, 0..9")
    source = action("import", help="import an .npz (x, y), a zip of <n>_<digit>.png or a "
                                "folder of *_<digit>.<ext> images; duplicates skipped")
    source.add_argument("path", type=Path, metavar="PATH")
    target = action("export", help="write every saved digit to PATH.npz or PATH.zip")
    target.add_argument("path", type=Path, metavar="PATH")
    tune = action(
        "finetune", help="fine-tune the active model on your digits (MNIST replayed), save and activate it",
        description="Start from the active model, train on your saved digits mixed with MNIST training "
                    "images, then print the accuracy on your held-out digits and on the MNIST test set, "
                    "before and after, and save the result as a new run.")
    tune.add_argument("--epochs", type=int, default=None, metavar="N",
                      help="passes over your digits (default 5)")
    tune.add_argument("--no-activate", action="store_true", help="save the run without making it active")
    tune.add_argument("--job", default=None, help=argparse.SUPPRESS)  # run a job the dashboard created
    clear = action("clear", help="delete every saved digit")
    clear.add_argument("--yes", action="store_true", help="really delete them (required)")
    parser.set_defaults(run=main)


def _where_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--db", type=Path, default=default, metavar="FILE",
                        help="the database (default: $MNIST_STUDIO_USER_DIGITS, else "
                             "user_digits.sqlite3 in the model store folder)")
    parser.add_argument("--models", type=Path, default=default, metavar="DIR",
                        help=MODELS_HELP)


def main(args: argparse.Namespace) -> int:
    """Run one `user-digits` action; errors are one line on stderr, exit 1 (2 for usage)."""

    store = UserDigitStore(args.db or default_path(args.models))
    try:
        if args.action == "list":
            return _list(store)
        if args.action == "add":
            return _add(store, args.files, args.label)
        if args.action == "import":
            return _import(store, args.path)
        if args.action == "export":
            return _export(store, args.path)
        if args.action == "clear":
            return _clear(store, args.yes)
        if args.action == "finetune" and args.job:
            from training.jobs.runner import run_finetune_job

            settings = FineTuneSettings(**({"epochs": args.epochs} if args.epochs is not None else {}))
            return run_finetune_job(ModelStore(args.models), store, args.job, settings)
        if args.action == "finetune":
            return _finetune(store, args.models, args.epochs, not args.no_activate)
    except UserDigitsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"error: unknown action {args.action}", file=sys.stderr)
    return EXIT_USAGE


def _list(store) -> int:
    counts, held_out = store.counts(), store.held_out_counts()
    total = sum(counts.values())
    if total == 0:
        print(f"No saved digits in {store.path}: save some on the Draw page or with "
              "`python -m training user-digits add FILE --label D`.")
        return 0
    print(f"{total} digits in {store.path} ({sum(held_out.values())} held out, never trained on)")
    print("digit  saved  held out")
    for digit in range(10):
        print(f"{digit:>5}  {counts[digit]:>5}  {held_out[digit]:>8}")
    return 0


def _add(store, files: list[Path], label: int) -> int:

    digits, failed = [], False
    for path in files:
        try:
            digits.append(digit_from_image(path, label, source_name="cli"))
        except ValueError as error:
            line = first_line(error)
            print(f"error: {line if str(path) in line else f'{path}: {line}'}", file=sys.stderr)
            failed = True
    if failed:
        print("Nothing was saved: fix or leave out the files above.", file=sys.stderr)
        return 1
    report = store.add_many(digits)
    print(f"Saved {len(report.added)} digit{'s' if len(report.added) != 1 else ''} labelled {label}"
          + (f"; {report.duplicates} already saved, skipped" if report.duplicates else "")
          + f" ({store.counts()[label]} saved with label {label} in {store.path})")
    return 0


def _import(store, path: Path) -> int:

    try:
        result = import_into(store, path)
    except ImportRefused as refused:
        for problem in refused.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"Nothing was imported from {path}.", file=sys.stderr)
        return 1
    print(f"Imported {result.added} of {result.read} digits from {path}"
          + (f"; {result.duplicates} already saved, skipped" if result.duplicates else "")
          + f" ({sum(store.counts().values())} in {store.path})")
    return 0


def _export(store, path: Path) -> int:

    if path.suffix.lower() not in (".npz", ".zip"):
        print(f"error: {path}: the name must end in .npz or .zip", file=sys.stderr)
        return EXIT_USAGE
    try:
        count = export_to(store, path)
    except OSError as error:
        print(f"error: {path} cannot be written ({error.strerror or error})", file=sys.stderr)
        return 1
    print(f"Exported {count} digits to {path}")
    return 0


def _clear(store, yes: bool) -> int:
    if not yes:
        print("error: this deletes every saved digit; add --yes to do it", file=sys.stderr)
        return EXIT_USAGE
    deleted = store.clear()
    print(f"Deleted {deleted} digits from {store.path}")
    return 0


def _finetune(digits, models: Path | None, epochs: int | None, activate: bool) -> int:
    store = ModelStore(models)
    try:
        settings = FineTuneSettings(**({"epochs": epochs} if epochs is not None else {}))
    except ValueError as error:
        print(f"python -m training user-digits finetune: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if store.active() is None:
            raise StoreError("No trained model yet: run `python -m training train` first.")
        if not digits.arrays(held_out=False)[1].size:
            raise ValueError("there are no saved digits to learn from: add some first")
        print(measure_advice_for(digits), flush=True)  # before the wait, while it can still be acted on
        with native_stderr_silenced():
            # TensorFlow's start-up chatter stays out of the terminal, and so does cuInit's error
            # line on a machine without a GPU.
            import tensorflow as tf

            from training.learn.finetune import finetune, save_finetuned

            tf.config.list_logical_devices()
        outcome = finetune(store, digits, settings=settings, listener=ConsoleProgress())
        run = save_finetuned(store, outcome, activate=activate)
    except (StoreError, ValueError, MnistUnavailableError, OSError) as error:
        print(f"error: {first_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted: nothing was saved.", file=sys.stderr)
        return 130
    print("Accuracy before → after fine-tuning (held-out digits were never trained on):")
    for line in numbers_table(outcome.before, outcome.after):
        print("  " + line)
    seconds = outcome.result.record.duration_s
    print(f"Fine-tuned on {len(outcome.trained_ids)} of your digits in {seconds:.0f} s; "
          f"saved as {run.run_id}" + (" (active)" if activate else ""))
    return 0


def _digit(text: str) -> int:
    if text.strip() not in [str(d) for d in range(10)]:
        raise argparse.ArgumentTypeError(f"a label is one digit 0..9, got {text!r}")
    return int(text)
