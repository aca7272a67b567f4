"""Command line: `python -m web_export --out PATH [--model RUN_ID] [--models DIR] [--quantize ...]`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from training.cli.console import OneLineErrorParser, native_stderr_silenced
from training.runs.store import ModelStore
from web_export import DEFAULT_QUANTIZE, ZIP_FOLDER, ExportError, export_run
from web_export.convert import QUANTIZE_CHOICES

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="python -m web_export",
        description="Export a trained model as a static TensorFlow.js page (folder or .zip).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="folder to write, or a file name ending in .zip",
    )
    parser.add_argument(
        "--model", default=None, metavar="RUN_ID", help="run to export (default: the active run)"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=None,
        metavar="DIR",
        help="model store folder (default: $MNIST_STUDIO_MODELS or ./models)",
    )
    parser.add_argument(
        "--quantize",
        choices=("float32", *QUANTIZE_CHOICES),
        default=DEFAULT_QUANTIZE,
        help=f"the weights' precision (default {DEFAULT_QUANTIZE}: half the size of float32, the same "
        "answers; float32: exact; uint8: a quarter of the size, slightly less exact)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # TensorFlow's C++ start-up chatter would bury the one line this command prints.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    try:
        with native_stderr_silenced():
            quantize = None if args.quantize == "float32" else args.quantize
            out = export_run(ModelStore(args.models), args.model, args.out, quantize=quantize)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Interrupted: nothing was written.", file=sys.stderr)
        return 130
    except Exception as error:  # a one-line message beats a traceback for a command-line user
        print(f"error: export failed: {type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        return EXIT_ERROR
    size = _size(out)
    how = (f"unzip it and open {ZIP_FOLDER}/index.html" if out.is_file()
           else "open index.html in a browser")
    print(f"Wrote {out} ({size / 1e6:.2f} MB): {how}.")
    return 0


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


if __name__ == "__main__":
    sys.exit(main())
