"""What the Draw page's number mode shows and saves, without Streamlit: the drawing with its digits'
boxes, each digit's words and chart emphasis, a typed number checked, the digits to save."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dashboard.charts import HIGHLIGHT
from training.reading.numbers import DigitReading, NumberReading, ordinal
from training.runs.user_digit_records import NewDigit, as_image28, png_bytes

SURE_BOX = "#2e86de"  # a digit read plainly: blue, away from the highlight the doubts take
DOUBT_BOX = HIGHLIGHT  # a digit the model is not sure of, or a part that is no digit
BOX_WIDTH = 3  # pixels of the shown picture, whatever the image's size


def as_rgb(image, background: str) -> Image.Image:
    """A drawing (RGBA pixels from the canvas) or an uploaded image as an RGB picture to draw on;
    what is transparent shows `background` (the canvas's black, the page's white)."""
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8)) if isinstance(image, np.ndarray) else image
    if picture.mode.startswith(("I", "F")):  # 16-bit and float scans: scaled to 8 bits to be shown
        pixels = np.asarray(picture, dtype=np.float32)
        top = 65535 if picture.mode.startswith("I;16") else max(float(np.nanmax(pixels)), 1.0)
        picture = Image.fromarray(np.clip(pixels / top * 255, 0, 255).astype(np.uint8))
    picture = picture.convert("RGBA")
    return Image.alpha_composite(Image.new("RGBA", picture.size, background), picture).convert("RGB")


def boxed(picture: Image.Image, reading: NumberReading, width: int) -> Image.Image:
    """The picture scaled to `width` pixels, each digit's box drawn over it with its place (1, 2, …):
    blue where the digit reads plainly, red where there is doubt."""
    scale = width / picture.width
    shown = picture.resize((width, max(1, round(picture.height * scale))), Image.LANCZOS)
    draw = ImageDraw.Draw(shown)
    font = ImageFont.load_default(size=16)
    for position, digit in enumerate(reading.digits, start=1):
        x0, y0, x1, y1 = (round(value * scale) for value in digit.box)
        colour = DOUBT_BOX if digit.verdict.unsure else SURE_BOX
        draw.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=colour, width=BOX_WIDTH)
        label = str(position)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tag_y = y0 - 2 - (bottom - top) - 6 if y0 - 2 - (bottom - top) - 6 >= 0 else y1 + 2
        draw.rectangle((x0 - 2, tag_y, x0 + right - left + 4, tag_y + bottom - top + 6), fill=colour)
        draw.text((x0 + 1 - left, tag_y + 3 - top), label, fill="white", font=font)
    return shown


def digit_words(position: int, digit: DigitReading) -> str:
    """The caption under a digit's 28×28 view: "2nd: 7", "3rd: 1 or 7?", "4th: no digit"."""
    verdict = digit.verdict
    if verdict.not_a_digit:
        return f"{ordinal(position)}: no digit"
    if verdict.unsure:
        first, second = verdict.top_two
        return f"{ordinal(position)}: {first} or {second}?"
    return f"{ordinal(position)}: {digit.digit}"


def emphasis(digit: DigitReading) -> str:
    """How the digit's bars follow its answer (`dashboard.charts.probability_chart`)."""
    if digit.verdict.not_a_digit:
        return "guess"
    return "unsure" if digit.verdict.unsure else "answer"


def first_doubt(reading: NumberReading) -> int:
    """The index of the first digit in doubt (its chart is the one to show first), else 0."""
    return next((index for index, digit in enumerate(reading.digits) if digit.verdict.unsure), 0)


def typed_labels(text: str, count: int) -> list[int]:
    """The digits of a number the user typed, one for each of the `count` digits found.

    Raises:
        ValueError: not only digits (spaces aside), or not `count` of them; the message says which.
    """
    digits = "".join(text.split())
    if not digits.isdecimal() or not digits.isascii():
        raise ValueError(f"type the number in digits only (0–9), not {text.strip()!r}")
    if len(digits) != count:
        found = f"{count} digit" + ("s" if count != 1 else "")
        raise ValueError(f"the drawing was read as {found}; type {count}, one for each box "
                         f"(you typed {len(digits)})")
    return [int(character) for character in digits]


def digits_to_save(reading: NumberReading, labels: list[int], picture: Image.Image, run_id: str | None,
                   source: str) -> list[NewDigit]:
    """Each digit of the number as a user digit: its 28×28 view, its label, its crop of the picture."""
    return [NewDigit(image28=as_image28(digit.image28), label=label,
                     drawing_png=png_bytes(picture.crop(digit.box)), prediction=digit.digit,
                     probabilities=[float(p) for p in digit.probabilities],
                     run_id=run_id, source=source)
            for digit, label in zip(reading.digits, labels, strict=True)]


def saved_words(number: str, added: int, duplicates: int) -> str:
    """What a save said: "Saved 42: its 2 digits are in your digits." (already-saved ones named)."""
    if added == 0:
        return f"The digits of {number} were already saved."
    digits = f"{added} digit" + ("s" if added != 1 else "")
    again = f" ({duplicates} already saved)" if duplicates else ""
    return f"Saved {number}: {digits} added to your digits{again}."

