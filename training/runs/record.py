"""A saved run's record (`record.json`) as one typed class, read leniently from older versions."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from training.core.config import TrainConfig


@dataclass(frozen=True)
class RunRecord:
    """What a run's `record.json` says. Keys this version does not know stay in `extras`.

    Training fills in what it measured; the store fills in `run_id` (when empty), `created_at`,
    `model_sha256` and `versions` as it saves.
    """

    config: TrainConfig
    test_accuracy: float
    run_id: str = ""
    created_at: str = ""
    test_loss: float = float("nan")
    name: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    epochs_completed: int = 0
    cancelled: bool = False
    # Where a stopped run stopped: (epoch, batch), both from 1.
    stopped_at: tuple[int, int] | None = None
    batches_per_epoch: int = 0
    # Logits are divided by this before the softmax (fitted on the validation split).
    temperature: float = 1.0
    confusion_matrix: list[list[int]] = field(default_factory=list)
    # (test index, true label, predicted label, confidence) for wrong test predictions.
    mistakes: list[tuple[int, int, int, float]] = field(default_factory=list)
    duration_s: float | None = None
    examples: dict[str, int] = field(default_factory=dict)
    replicas: int = 1
    dataset_sha256: str = ""
    model_sha256: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    # A training with the user's digits: how many it used, and how it reads the held-out ones.
    user_digits: dict[str, Any] | None = None
    # A fine-tuned run: its base run, the user digits it learned from, its numbers before and after.
    finetune: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRecord:
        """Parse a record; missing optional fields take their defaults, unknown ones go to extras."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extras"}
        fields = {key: value for key, value in values.items() if key in known}
        fields["config"] = TrainConfig.from_dict(values["config"])
        fields["test_accuracy"] = float(values["test_accuracy"])
        if fields.get("stopped_at"):
            fields["stopped_at"] = tuple(int(part) for part in fields["stopped_at"])
        fields["mistakes"] = [tuple(mistake) for mistake in values.get("mistakes") or []]
        fields["history"] = list(values.get("history") or [])
        fields["temperature"] = _positive_or_one(values.get("temperature"))
        return cls(**fields, extras={key: value for key, value in values.items() if key not in known})

    def to_dict(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extras"}
        values["config"] = self.config.to_dict()
        values["stopped_at"] = list(self.stopped_at) if self.stopped_at else None
        values["mistakes"] = [list(mistake) for mistake in self.mistakes]
        return {**values, **self.extras}

    @property
    def epochs_trained(self) -> int:
        """Whole epochs in the history."""
        return len(self.history)

    def summary(self) -> str:
        """One line for lists: id, name, architecture, epochs and test accuracy."""
        partial = " (stopped early)" if self.cancelled else ""
        epochs = f"{self.epochs_trained} epoch{'s' if self.epochs_trained != 1 else ''}"
        name = f" “{self.name}”" if self.name else ""
        return (f"{self.run_id}{name}: {self.config.architecture}, {epochs}, "
                f"test accuracy {self.test_accuracy:.2%}{partial}")


def _positive_or_one(value: Any) -> float:
    """A temperature as saved, or 1.0 (no scaling) for runs saved before calibration or a bad value."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if math.isfinite(value) and value > 0 else 1.0
