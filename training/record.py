"""A saved run's record (`record.json`) as one typed class, read leniently from older versions."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from training.config import TrainConfig


@dataclass(frozen=True)
class RunRecord:
    """What a run's `record.json` says. Keys this version does not know stay in `extras`."""

    run_id: str
    created_at: str
    config: TrainConfig
    test_accuracy: float
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
