"""`python -m training runs` and `stop`: the saved runs and the running trainings, from a terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from training.cli.console import MODELS_HELP
from training.core.progress import format_duration
from training.jobs.job import STOPPED
from training.jobs.store import JobStore
from training.runs.store import ModelStore, StoreError


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `stop` and `runs` on the `python -m training` command list."""
    stop = commands.add_parser("stop", help="ask a running training to stop after its current batch")
    stop.add_argument("job_id", metavar="RUN_ID", help="the running training's id (see `runs`)")
    stop.add_argument("--models", type=Path, default=None, metavar="DIR", help=MODELS_HELP)
    stop.set_defaults(run=lambda args: run_stop(args.job_id, models=args.models))

    runs = commands.add_parser("runs", help="list the saved runs; * marks the active one")
    runs.add_argument("--models", type=Path, default=None, metavar="DIR",
                      help=MODELS_HELP)
    runs.add_argument("--activate", default=None, metavar="RUN_ID", help="make this run the active one")
    runs.add_argument("--keep", default=None, metavar="RUN_ID",
                      help="save a stopped training's partial model as a run; the active model stays "
                           "(add --activate RUN_ID to make the kept run active)")
    runs.add_argument("--discard", default=None, metavar="RUN_ID",
                      help="forget a stopped training's partial model")
    runs.set_defaults(run=lambda args: run_list(models=args.models, activate=args.activate, keep=args.keep,
                                                discard=args.discard))


def run_stop(job_id: str, *, models: Path | None) -> int:
    """Ask a running job to stop; it stops after its current batch."""

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

    store = ModelStore(models)
    jobs = JobStore(store)
    try:
        if keep:
            # A partial model replaces the active one only when asked for by name.
            print(jobs.keep(keep, activate=activate == keep))
            if activate != keep and store.active_id() != keep:
                print(f"Make it the active model with `python -m training runs --activate {keep}`.")
        if activate and activate != keep:
            store.set_active(activate)
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
