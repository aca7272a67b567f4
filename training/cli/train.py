"""`python -m training train` and `job`: a training as a job of the store, with a progress bar.

The modules that train import TensorFlow when imported: they are imported inside the commands
that train, so that the other commands start at once and TensorFlow's start-up chatter can be
silenced first.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from training.cli.console import (
    EXIT_USAGE,
    MODELS_HELP,
    ConsoleProgress,
    exit_without_teardown,
    native_stderr_silenced,
)
from training.core.config import ARCHITECTURES, DEFAULT_ARCHITECTURE, TrainConfig
from training.data.mnist import MnistUnavailableError, load_mnist
from training.jobs.job import FINISHED, STOPPED
from training.jobs.store import JobStore
from training.learn.distribute import (
    WorkerLostError,
    choose_placement,
    in_cluster,
    is_chief_task,
    wait_for_chief_to_exit,
)
from training.runs.store import ModelStore, StoreError


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Register `train` and `job` on the `python -m training` command list."""
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
                       help=MODELS_HELP)
    train.add_argument("--no-activate", action="store_true",
                       help="save the run without making it the active model")
    train.add_argument("--name", default="", help="a name for the run, shown next to its id")
    train.set_defaults(run=lambda args: exit_without_teardown(_train_command(args)))

    job = commands.add_parser("job", help="run a training job created in the store (the dashboard "
                                          "starts these)")
    job.add_argument("job_id", metavar="JOB_ID")
    job.add_argument("--models", type=Path, default=None, metavar="DIR", help=MODELS_HELP)
    job.set_defaults(run=lambda args: exit_without_teardown(run_job_command(args.job_id, models=args.models)))


def _train_command(args: argparse.Namespace) -> int:
    try:
        config = TrainConfig.for_architecture(
            args.arch, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, augment=args.augment, seed=args.seed,
            train_limit=args.limit,
        )
    except ValueError as error:
        print(f"python -m training train: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return run_train(config, data_path=args.data, models=args.models, activate=not args.no_activate,
                     name=args.name)


def run_train(config: TrainConfig, *, data_path: Path | None, models: Path | None,
              activate: bool, name: str = "") -> int:
    """Train as a job of the store (visible on the Train page), with a terminal progress bar."""
    # TensorFlow's C++ start-up chatter (CUDA factories, computation placer, cuInit) is several
    # lines on a machine without a GPU: kept off the terminal. Nothing else prints meanwhile.
    with native_stderr_silenced():
        import tensorflow  # noqa: F401

    try:
        if in_cluster():  # the cluster watchdog reports on stderr: it must not be silenced
            choose_placement()
        else:
            with native_stderr_silenced():
                choose_placement()  # TensorFlow's runtime starts here (cuInit), still silenced
    except WorkerLostError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        os._exit(1)  # TensorFlow's collective threads may hang a normal exit after a lost peer

    progress = ConsoleProgress()
    try:
        data = load_mnist(data_path, on_status=progress.on_status)
    except MnistUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not is_chief_task():
        return _train_as_worker(config, data, progress)

    from training.jobs.runner import run_job

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
    return code


def _train_as_worker(config: TrainConfig, data, progress) -> int:
    """A worker other than the chief: train its share, save nothing, exit 0."""
    from training.learn.train import train

    try:
        train(config, data, listener=progress)
    except WorkerLostError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        os._exit(1)  # TensorFlow's collective threads may hang a normal exit after a lost peer
    print("Worker finished its share; the chief saves the run.", flush=True)
    # Leaving before the chief would look like a crash to TensorFlow's coordination service (the
    # chief runs it): wait for the chief to finish saving and exit, then leave quietly.
    with native_stderr_silenced():
        wait_for_chief_to_exit()
    os._exit(0)


def run_job_command(job_id: str, *, models: Path | None) -> int:
    """Run a job the dashboard created; its output goes to the job's log, not a terminal."""
    from training.jobs.runner import run_job

    os.nice(10)  # a training never slows the dashboard's answers: the server's threads come first
    try:
        return run_job(JobStore(ModelStore(models)), job_id)
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
