"""The command line every `make bench` section shares: `python -m scripts.bench_X STORE [RUN_ID]`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable


def store_bench_main(measure: Callable[[str, str | None], dict], command: str,
                     argv: list[str] | None = None) -> int:
    """Run `measure(store, run_id)` and print its section as one JSON line; usage errors exit 2."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(f"usage: {command}", file=sys.stderr)
        return 2
    print(json.dumps(measure(args[0], args[1] if len(args) > 1 else None)))
    return 0
