"""Command line: `python -m training train|job|stop|runs|predict|user-digits`; each lives in its module."""

from __future__ import annotations

import argparse

from training.cli import predict, runs, train, user_digits
from training.cli.console import OneLineErrorParser


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m training", description="Train and use MNIST models.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    for command in (train, runs, predict, user_digits):
        command.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)
