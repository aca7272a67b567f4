"""Pick a tf.distribute strategy from what is present: one device, several GPUs, or a cluster."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # TensorFlow loads when a placement is chosen, not when this module is imported
    import tensorflow as tf

# Splits the CPU into N logical devices (testing the multi-device path on a CPU-only machine).
CPU_DEVICES_ENV = "MNIST_STUDIO_CPU_DEVICES"
# Seconds a worker waits for the others, at start and for each step, before giving up.
WORKER_TIMEOUT_ENV = "MNIST_STUDIO_WORKER_TIMEOUT"
DEFAULT_WORKER_TIMEOUT_S = 120


class WorkerLostError(RuntimeError):
    """Another worker died or could not be reached; the message names it in one line."""


@dataclass(frozen=True)
class Placement:
    """The strategy and how it scales a per-replica batch size and learning rate."""

    strategy: tf.distribute.Strategy
    name: str
    # Only the chief saves the run; in a cluster that is worker 0 (or the task named "chief").
    is_chief: bool = True
    # Several workers: peers can be lost, and every worker must take the same steps.
    multi_worker: bool = False

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def global_batch_size(self, per_replica: int) -> int:
        return per_replica * self.replicas

    def learning_rate(self, base: float) -> float:
        # Linear scaling rule (Goyal et al., 2017): the batch grows N-fold, so does the step.
        return base * self.replicas

    def watchdog(self) -> ClusterWatchdog | None:
        """A watchdog that ends this worker when the others stop answering; None alone."""
        return ClusterWatchdog(worker_timeout_s()) if self.multi_worker else None

    @contextlib.contextmanager
    def peers_watched(self) -> Iterator[None]:
        """Turn TensorFlow's errors about a lost peer into one line that names the worker."""
        import tensorflow as tf

        try:
            yield
        except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
                tf.errors.InternalError, tf.errors.FailedPreconditionError) as error:
            if not self.multi_worker:
                raise
            raise WorkerLostError(describe_worker_failure(error)) from None

    def meet(self) -> None:
        """A barrier: one tiny all-reduce that every worker must reach."""
        import tensorflow as tf

        strategy = self.strategy
        tf.function(lambda: strategy.reduce(tf.distribute.ReduceOp.SUM,
                                            strategy.run(lambda: tf.constant(1.0)), axis=None))()


def choose_placement() -> Placement:
    """MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored across several GPUs (or CPU
    logical devices when MNIST_STUDIO_CPU_DEVICES is set), else the default one-device strategy.

    Chosen once per process and setting: a cluster's strategy can only be created once, before
    TensorFlow's runtime starts.
    """
    return _placement_for(os.environ.get("TF_CONFIG", ""), os.environ.get(CPU_DEVICES_ENV, ""))


@functools.cache
def _placement_for(tf_config: str, cpu_devices_setting: str) -> Placement:
    import tensorflow as tf

    if _cluster_size() > 1:
        return _multi_worker_placement()
    cpu_devices = int(os.environ.get(CPU_DEVICES_ENV, "0") or 0)
    if cpu_devices > 1:
        devices = split_cpu(cpu_devices)
        return Placement(tf.distribute.MirroredStrategy(devices=devices),
                         f"mirrored across {cpu_devices} logical CPUs")
    # Physical, not logical: listing logical devices would initialise the runtime.
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return Placement(tf.distribute.MirroredStrategy(), f"mirrored across {len(gpus)} GPUs")
    return Placement(tf.distribute.get_strategy(), "one device")


def split_cpu(count: int) -> list[str]:
    """Make `count` logical CPU devices; the first call must come before TensorFlow's runtime
    starts (set the environment variable before training, in a fresh process)."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    # Once the runtime has started this raises; the logical devices that exist are then used.
    with contextlib.suppress(RuntimeError):
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    devices = [device.name for device in tf.config.list_logical_devices("CPU")[:count]]
    if len(devices) < count:
        raise RuntimeError(f"{CPU_DEVICES_ENV}={count} must be set before TensorFlow starts")
    return devices


def worker_timeout_s() -> int:
    """$MNIST_STUDIO_WORKER_TIMEOUT in seconds (default 120)."""
    try:
        return max(1, int(os.environ.get(WORKER_TIMEOUT_ENV, "") or DEFAULT_WORKER_TIMEOUT_S))
    except ValueError:
        return DEFAULT_WORKER_TIMEOUT_S


def _multi_worker_placement() -> Placement:
    """MultiWorkerMirroredStrategy, given up on when the other workers do not join in time."""
    import tensorflow as tf

    timeout = worker_timeout_s()
    with ClusterWatchdog(timeout, "did not join") as watchdog:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        watchdog.beat()
    return Placement(strategy, "multi-worker mirrored", is_chief=is_chief_task(), multi_worker=True)


class ClusterWatchdog:
    """Ends this worker with one line when the cluster makes no progress for `timeout_s` seconds.

    TensorFlow waits forever for a worker that never joins and can block in a collective when a
    peer dies, holding the GIL, so no thread of this process could act. A small watchdog process
    does: it expects a beat (a byte on a pipe, at most one a second) while watching; on silence
    it names the workers whose port no longer answers, prints one line and kills this worker.
    Nothing was saved then: only the chief saves, after the last step.
    """

    def __init__(self, timeout_s: float, what: str = "stopped answering"):
        self.timeout_s, self.what = timeout_s, what
        self._process: subprocess.Popen | None = None
        self._last_beat = 0.0

    def __enter__(self) -> ClusterWatchdog:
        """Watch (again) from now on; the same watchdog may guard several stretches of work."""
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG_SCRIPT, str(os.getpid()), str(self.timeout_s),
                 self.what, json.dumps(_peers(others_only=True))],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        self._send(b"w")
        return self

    def __exit__(self, *exc_info) -> None:
        self._send(b"p")  # paused: local work (evaluation, saving) needs no peer

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._last_beat >= 1.0:
            self._last_beat = now
            self._send(b"b")

    def _send(self, byte: bytes) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self._process.stdin.write(byte)
            self._process.stdin.flush()


# Run as `python -c` by ClusterWatchdog: argv = parent pid, timeout, what, peers (JSON).
_WATCHDOG_SCRIPT = """
import json, os, select, signal, socket, sys, time
pid, timeout, what, peers = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
def answers(address):
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=1.0).close()
        return True
    except (OSError, ValueError):
        return False
watching, last = False, time.monotonic()
while True:
    ready, _, _ = select.select([0], [], [], 1.0)
    if ready:
        data = os.read(0, 64)
        if not data:
            sys.exit(0)
        watching, last = data[-1:] != b"p", time.monotonic()
    elif watching and time.monotonic() - last > timeout:
        silent = [address for address in peers if not answers(address)] or peers
        sys.stderr.write(f"error: worker {', '.join(silent)} {what} within {timeout:.0f} s; "
                         "training stopped, nothing saved\\n")
        sys.stderr.flush()
        os.kill(pid, signal.SIGKILL)
        sys.exit(0)
"""


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except (OSError, ValueError):
        return False


def wait_for_chief_to_exit(timeout_s: float | None = None) -> None:
    """Until the chief's port stops answering (it has saved and exited), at most the timeout."""
    config = _tf_config()
    cluster = config.get("cluster", {})
    chief = (cluster.get("chief") or cluster.get("worker") or [None])[0]
    deadline = time.monotonic() + (timeout_s or worker_timeout_s())
    while chief and time.monotonic() < deadline and _answers(chief):
        time.sleep(0.5)


def is_chief_task() -> bool:
    """Whether this process saves the run: true alone, and for the chief (worker 0) of a cluster."""
    if _cluster_size() <= 1:
        return True
    config = _tf_config()
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type") == "worker" and task.get("index") == 0


def in_cluster() -> bool:
    """Whether TF_CONFIG names a cluster of several workers."""
    return _cluster_size() > 1


def describe_worker_failure(error: BaseException) -> str:
    """One line naming the worker a collective error is about, from TensorFlow's message."""
    message = str(error)
    match = re.search(r"/job:(\w+)/replica:\d+/task:(\d+)", message)
    cluster = _tf_config().get("cluster", {})
    if match:
        role, index = match.group(1), int(match.group(2))
        tasks = cluster.get(role, [])
        address = f" at {tasks[index]}" if index < len(tasks) else ""
        return f"worker {role} {index}{address} is down or unreachable; training stopped, nothing saved"
    return (f"lost contact with the other workers ({', '.join(_peers())}); training stopped, "
            "nothing saved")


def _tf_config() -> dict:
    try:
        value = json.loads(os.environ.get("TF_CONFIG", "{}"))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _peers(others_only: bool = False) -> list[str]:
    """The cluster's addresses (without this task's own when `others_only`)."""
    config = _tf_config()
    cluster, task = config.get("cluster", {}), config.get("task", {})
    return [address for role in ("chief", "worker") for index, address in enumerate(cluster.get(role, []))
            if not (others_only and task.get("type") == role and task.get("index") == index)]


def _cluster_size() -> int:
    cluster = _tf_config().get("cluster", {})
    return sum(len(tasks) for role, tasks in cluster.items() if role in ("worker", "chief"))
