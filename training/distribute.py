"""Pick a tf.distribute strategy from what is present: one device, several GPUs, or a cluster."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass

import tensorflow as tf

# Splits the CPU into N logical devices (testing the multi-device path on a CPU-only machine).
CPU_DEVICES_ENV = "MNIST_STUDIO_CPU_DEVICES"


@dataclass(frozen=True)
class Placement:
    """The strategy and how it scales a per-replica batch size and learning rate."""

    strategy: tf.distribute.Strategy
    name: str

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
        return Placement(tf.distribute.MultiWorkerMirroredStrategy(), "multi-worker mirrored")
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


def _cluster_size() -> int:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except ValueError:
        return 0
    return sum(len(tasks) for role, tasks in cluster.items() if role in ("worker", "chief"))
