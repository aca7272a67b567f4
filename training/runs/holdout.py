"""Which saved digits are held out (never trained on, only measured), and when there are enough."""

from __future__ import annotations

from collections.abc import Mapping

# The 2nd digit saved with a label is held out, then one more every HOLDOUT_EVERY (the 7th, 12th, …):
# anyone with two of a digit gets a measure, and a fifth of a large set is measured.
FIRST_HELD_OUT = 2
HOLDOUT_EVERY = 5
# With fewer held-out digits than this, one digit read differently moves the measure by more than
# 5 points: the numbers say little about the hand.
MEANINGFUL_HELD_OUT = 20


def held_out_target(total: int) -> int:
    """How many of a label's `total` saved digits the rule holds out."""
    return 0 if total < FIRST_HELD_OUT else 1 + (total - FIRST_HELD_OUT) // HOLDOUT_EVERY


def holds_out(total: int, held_out: int) -> bool:
    """Whether a new digit is held out, given its label's digits and held-out digits before it.

    Decided once, when it is saved, and never changed: a digit trained on never becomes a measure.
    Counting what is saved (not a sequence) lets an older database, or one with deletes, catch up.
    """
    return held_out < held_out_target(total + 1)


def saves_until_meaningful(counts: Mapping[int, int], held_out: Mapping[int, int]) -> int:
    """The fewest more saves (of the digits that need fewest) that bring MEANINGFUL_HELD_OUT held out."""
    state = {digit: (counts.get(digit, 0), held_out.get(digit, 0)) for digit in range(10)}
    saves = 0
    for _ in range(max(0, MEANINGFUL_HELD_OUT - sum(held_out.values()))):
        digit, cost = min(((digit, _saves_to_next(*state[digit])) for digit in state),
                          key=lambda pair: pair[1])
        total, held = state[digit]
        state[digit] = (total + cost, held + 1)
        saves += cost
    return saves


def _saves_to_next(total: int, held: int) -> int:
    """Saves of one label until the next of them is held out."""
    saves = 1
    while not holds_out(total + saves - 1, held):
        saves += 1
    return saves


def measure_advice(counts: Mapping[int, int], held_out: Mapping[int, int]) -> str:
    """One line, said before fine-tuning: what the result will be measured on, and what would help."""
    held = sum(held_out.values())
    more = saves_until_meaningful(counts, held_out)
    if held == 0:
        return ("None of your digits is held out yet, so a fine-tune cannot be measured on your hand: the "
                f"2nd digit you save of each kind is held out; {more} more digits (spread over the ten) "
                f"would give the {MEANINGFUL_HELD_OUT} held out that make the measure meaningful.")
    if held < MEANINGFUL_HELD_OUT:
        noun = "digit" if held == 1 else "digits"
        return (f"It will be measured on your {held} held-out {noun}, so one digit read differently moves "
                f"the result by {100 / held:.0f} points; {more} more digits (spread over the ten) would "
                f"give the {MEANINGFUL_HELD_OUT} held out that make the measure meaningful.")
    return f"It will be measured on your {held} held-out digits, never trained on."
