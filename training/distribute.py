"""Pick a tf.distribute strategy from what is present: one device, several GPUs, or a cluster."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass

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

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    def global_batch_size(self, per_replica: int) -> int:
        return per_replica * self.replicas

    def learning_rate(self, base: float) -> float:
        # Linear scaling rule (Goyal et al., 2017): the batch grows N-fold, so does the step.
        return base * self.replicas


def choose_placement() -> Placement:
    """MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored across several GPUs (or CPU
    logical devices when MNIST_STUDIO_CPU_DEVICES is set), else the default one-device strategy."""
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
    """MultiWorkerMirroredStrategy that gives up on a lost peer within a bounded time.

    TensorFlow waits forever for the cluster by default and checks peers every 30 s. The class
    knobs below are the ones its own fault-tolerance tests set; the per-collective timeout is the
    public backstop.
    """
    from tensorflow.python.distribute import collective_all_reduce_strategy as collective

    timeout = worker_timeout_s()
    extended = collective.CollectiveAllReduceExtended
    extended._check_health_initial_timeout = timeout
    extended._check_health_interval = min(10, timeout)
    extended._check_health_timeout = min(5, timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:  # raised by the initial wait for the cluster
        raise WorkerLostError(f"the other workers did not answer within {timeout} s "
                              f"({', '.join(_peers())})") from error
    task = _tf_config().get("task", {})
    is_chief = task.get("type") == "chief" or (task.get("type") == "worker" and task.get("index") == 0
                                                and "chief" not in _tf_config().get("cluster", {}))
    return Placement(strategy, "multi-worker mirrored", is_chief=is_chief)


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


def _peers() -> list[str]:
    cluster = _tf_config().get("cluster", {})
    return [address for role in ("chief", "worker") for address in cluster.get(role, [])]


def _cluster_size() -> int:
    cluster = _tf_config().get("cluster", {})
    return sum(len(tasks) for role, tasks in cluster.items() if role in ("worker", "chief"))
