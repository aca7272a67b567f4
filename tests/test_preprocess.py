"""to_mnist: drawings and photos in any colours and sizes come out as centred MNIST-style digits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.data.ink import ink_map
from training.data.preprocess import (
    CENTRE,
    EmptyDrawingError,
    ink_to_mnist,
    inks_to_mnist,
    load_image,
    to_mnist,
)

CANVAS = 280


def draw_seven(width: int = 12, box: tuple[int, int, int, int] = (70, 40, 210, 240),
               canvas: int = CANVAS) -> np.ndarray:
    """A 7 drawn in white on black, uint8 (canvas, canvas)."""
    left, top, right, bottom = box
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    stem_x = left + (right - left) * 0.35
    draw.line([(left, top), (right, top), (stem_x, bottom)], fill=255, width=width, joint="curve")
    return np.asarray(image)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    return float((image * rows).sum() / image.sum()), float((image * cols).sum() / image.sum())


def bounding_box(image: np.ndarray, threshold: float = 0.1) -> tuple[int, int]:
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_output_is_a_centred_mnist_style_digit():
    result = to_mnist(draw_seven())
    assert result.shape == (28, 28) and result.dtype == np.float32
    assert result.min() >= 0 and result.max() == pytest.approx(1.0, abs=0.05)
    row, col = centre_of_mass(result)
    assert row == pytest.approx(CENTRE, abs=0.3) and col == pytest.approx(CENTRE, abs=0.3)
    assert max(bounding_box(result)) in (19, 20, 21)


def test_a_round_digit_gets_a_margin_all_round():
    image = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(image).ellipse((60, 30, 200, 250), outline=255, width=14)
    result = to_mnist(np.asarray(image))
    # MNIST leaves about 4 px around a digit whose centre of mass is its middle.
    for edge in (result[:3], result[-3:], result[:, :3], result[:, -3:]):
        assert edge.max() < 0.05


def test_every_input_form_gives_the_same_digit():
    ink = draw_seven()
    expected = to_mnist(ink)
    rgba_white = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    rgba_white[..., :3], rgba_white[..., 3] = 255, ink
    rgba_black = rgba_white.copy()
    rgba_black[..., :3] = 0
    forms = {
        "dark ink on light": 255 - ink,
        "float 0..1": ink.astype(np.float64) / 255,
        "float 0..255": ink.astype(np.float32),
        "RGB": np.repeat(ink[..., None], 3, axis=2),
        "RGB dark on light": np.repeat(255 - ink[..., None], 3, axis=2),
        "RGBA white strokes on transparent": rgba_white,
        "RGBA black strokes on transparent": rgba_black,
        "opaque RGBA": np.dstack([np.repeat(ink[..., None], 3, axis=2), np.full_like(ink, 255)]),
        "PIL L": Image.fromarray(ink),
        "PIL RGBA": Image.fromarray(rgba_black, "RGBA"),
        "PIL on paper": Image.fromarray(255 - ink).convert("RGB"),
    }
    for name, image in forms.items():
        assert similarity(to_mnist(image), expected) > 0.97, name
    # The canvas's own pixels (an RGBA array) take a shorter path to the same ink as its picture.
    for rgba in (rgba_white, rgba_black):
        np.testing.assert_array_equal(ink_map(rgba), ink_map(Image.fromarray(rgba, "RGBA")))


def test_files_and_bytes_are_read(tmp_path):
    ink = draw_seven()
    path = tmp_path / "seven.png"
    Image.fromarray(255 - ink).save(path)
    assert similarity(to_mnist(path), to_mnist(ink)) > 0.97
    assert similarity(to_mnist(path.read_bytes()), to_mnist(ink)) > 0.97
    assert load_image(str(path)).size == (CANVAS, CANVAS)


def test_unreadable_files_give_a_clear_error(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        load_image(text)
    with pytest.raises(ValueError, match="does not exist"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="not a readable image"):
        to_mnist(b"\x89PNG broken")


def test_a_shifted_or_scaled_digit_comes_out_the_same():
    reference = to_mnist(draw_seven(box=(70, 40, 210, 240)))
    moved = to_mnist(draw_seven(box=(10, 70, 150, 270)))
    small = to_mnist(draw_seven(width=4, box=(200, 200, 242, 260)))  # tiny, in a corner
    assert similarity(moved, reference) > 0.97
    assert similarity(small, reference) > 0.85
    assert max(bounding_box(small)) in (19, 20, 21)


def test_thin_and_thick_pens_give_mnist_like_strokes():
    masses = {}
    for width in (3, 12, 40):
        result = to_mnist(draw_seven(width=width, box=(30, 30, 250, 250)))
        masses[width] = float(result.sum())
    # MNIST digits hold 50–150 ink pixels; a 7 is on the light side.
    for width, mass in masses.items():
        assert 35 < mass < 110, (width, mass)
    assert max(masses.values()) / min(masses.values()) < 1.6, masses


def test_mnist_digits_survive_the_round_trip(mnist):
    # An MNIST digit is already preprocessed: preprocessing again should barely change it.
    digits = mnist.x_test[:200]
    scores = [similarity(to_mnist(digit), digit / 255) for digit in digits]
    assert np.median(scores) > 0.9


def test_stray_specks_are_ignored():
    clean = draw_seven()
    specked = clean.copy()
    specked[250:253, 250:253] = 255  # a speck far from the digit
    specked[5:7, 260:262] = 255
    assert similarity(to_mnist(specked), to_mnist(clean)) > 0.99


def test_a_detached_stroke_is_kept():
    # A 7's crossbar drawn separately is part of the digit, not a speck.
    seven = Image.fromarray(draw_seven())
    ImageDraw.Draw(seven).line([(95, 140), (175, 140)], fill=255, width=12)
    with_bar = to_mnist(np.asarray(seven))
    assert similarity(with_bar, to_mnist(draw_seven())) < 0.97


def test_crops_prepared_together_come_out_as_each_alone():
    # A number's candidate crops are prepared in one batch: a speck, a dot, a 7 with its bar drawn
    # apart and a plain 7 side by side must each come out as if prepared alone.
    specked = draw_seven().copy()
    specked[250:253, 250:253] = 255
    seven = Image.fromarray(draw_seven())
    ImageDraw.Draw(seven).line([(95, 140), (175, 140)], fill=255, width=12)
    dot = np.zeros((CANVAS, CANVAS), np.uint8)
    dot[100, 100] = 255
    inks = [ink_map(image) for image in (specked, np.asarray(seven), dot, draw_seven(box=(0, 0, 60, 90)))]
    for together, ink in zip(inks_to_mnist(inks), inks, strict=True):
        if together is None:
            with pytest.raises(EmptyDrawingError):
                ink_to_mnist(ink)
        else:
            np.testing.assert_array_equal(together, ink_to_mnist(ink))


@pytest.mark.parametrize("image", [
    np.zeros((CANVAS, CANVAS), np.uint8),
    np.full((CANVAS, CANVAS, 3), 255, np.uint8),
    np.zeros((CANVAS, CANVAS, 4), np.uint8),  # a fully transparent canvas
    np.full((CANVAS, CANVAS), 0.5, np.float32),
], ids=["black", "white", "transparent", "gray"])
def test_an_empty_canvas_says_so(image):
    with pytest.raises(EmptyDrawingError, match=r"^The canvas is empty: draw a digit\.$"):
        to_mnist(image)


def test_a_single_dot_is_empty():
    image = np.zeros((CANVAS, CANVAS), np.uint8)
    image[100, 100] = 255
    with pytest.raises(EmptyDrawingError):
        to_mnist(image)


@pytest.mark.parametrize("image, message", [
    (np.full((28, 28), np.nan, np.float32), "NaN"),
    (np.zeros((3, 28, 28), np.float32), "shape"),
    (np.zeros((28, 28, 5), np.uint8), "shape"),
    (np.zeros((28,), np.uint8), "shape"),
    (np.zeros((2, 2), np.uint8), "too small"),
    (np.full((28, 28), -1.0), "0..1"),
    (np.array([["a"] * 28] * 28), "numbers"),
    ("no-such-file.png", "does not exist"),
    (42, "expected an image"),
])
def test_bad_input_is_a_clear_value_error(image, message):
    with pytest.raises(ValueError, match=message) as raised:
        to_mnist(image)
    assert not isinstance(raised.value, EmptyDrawingError)


def test_drawn_digits_preprocess_like_mnist():
    from tests.kit.drawn_digits import STYLES, canvas_image, make_drawn_digits

    images, labels = make_drawn_digits(count=20, seed=3)
    assert images.shape == (20, CANVAS, CANVAS) and images.dtype == np.uint8
    assert sorted(set(labels.tolist())) == list(range(10))
    again, _ = make_drawn_digits(count=20, seed=3)
    assert np.array_equal(images, again)
    for image in images:
        styled = [to_mnist(canvas_image(image, style)) for style in STYLES]
        for result in styled:
            assert similarity(result, styled[0]) > 0.97
        result = styled[0]
        assert 30 < result.sum() < 200
        row, col = centre_of_mass(result)
        assert abs(row - CENTRE) < 0.5 and abs(col - CENTRE) < 0.5
        assert max(bounding_box(result)) in (19, 20, 21)


def test_a_photo_of_pen_on_paper_is_read():
    # Off-white paper, lit unevenly, with sensor noise, and grey ink: a phone photo of a 7.
    rng = np.random.default_rng(0)
    ink = draw_seven() / 255
    paper = 0.8 + 0.1 * np.linspace(0, 1, CANVAS)[np.newaxis, :] + rng.normal(0, 0.03, (CANVAS, CANVAS))
    photo = np.clip(paper * (1 - 0.7 * ink), 0, 1)
    rgb = (np.dstack([photo * 0.95, photo * 0.9, photo * 0.85]) * 255).astype(np.uint8)
    assert similarity(to_mnist(rgb), to_mnist(draw_seven())) > 0.9
    # The same photo at camera resolution.
    large = np.kron(rgb, np.ones((6, 6, 1), np.uint8))
    assert similarity(to_mnist(Image.fromarray(large)), to_mnist(draw_seven())) > 0.9
