"""Batch augmentation that imitates how people draw: shifts, rotation, scale, width, slant, pen, gaps,
and 6s with taller loops."""

from __future__ import annotations

import math

import tensorflow as tf

MAX_SHIFT_PX = 2.5
MAX_ROTATION_DEG = 12.0
SCALE_RANGE = (0.85, 1.15)
MAX_SHEAR = 0.25
# Wide and narrow hands: the width/height ratio is multiplied by up to this much either way.
MAX_ASPECT = 1.5
# Share of images drawn with a thinner or a thicker pen than the original.
THIN_PEN_RATE = 0.2
THICK_PEN_RATE = 0.2
# Pen lifted, or a stroke that stops short (an open loop): a gap cut across the ink.
GAP_RATE = 0.3
GAP_RADIUS_PX = (1.5, 3.0)
# Taller loops. MNIST's 6s mostly hang a small loop under a long stem; people also write the loop
# two thirds of the digit's height, and such 6s were read as 0 (their nearest MNIST training digits
# are 0s left open at the top, drawn the same way). In a share of the 6s the point where loop and
# stem meet moves up by a share of the height. Every digit in that share is resampled, 6 or not,
# with a sub-pixel shift: a look that only 6s had would be learnt instead of their shape (it was:
# with 9s given taller heads too, blurry scans of any digit were read as 9).
TALLER_LOOP_RATE = 0.6
LOOP_RISE = (0.1, 0.3)  # of the ink's height


def augment_batch(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Randomly transform a batch of (N, 28, 28) float images in 0..1 of the digits `labels` (N,).

    Returns the same shape; the labels still hold.
    """
    count = tf.shape(images)[0]
    x = _taller_loops(images, labels, count)[..., tf.newaxis]
    x = _change_pen_width(x, count)
    x = _cut_gap(x, count)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=_random_affine(count),
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(x[..., 0], 0.0, 1.0)


def _random_affine(count: tf.Tensor) -> tf.Tensor:
    """Per-image 8-parameter transforms mapping output pixels to input pixels, about the centre."""
    angle = tf.random.uniform([count], -1.0, 1.0) * (MAX_ROTATION_DEG * math.pi / 180)
    scale = tf.random.uniform([count], *SCALE_RANGE)
    shear = tf.random.uniform([count], -MAX_SHEAR, MAX_SHEAR)
    shift_x = tf.random.uniform([count], -MAX_SHIFT_PX, MAX_SHIFT_PX)
    shift_y = tf.random.uniform([count], -MAX_SHIFT_PX, MAX_SHIFT_PX)
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Inverse of (rotate · scale · shear), so that the digit grows when scale > 1.
    a0, a1 = cos, -sin + cos * shear
    b0, b1 = sin, cos + sin * shear
    stretch = tf.exp(tf.random.uniform([count], -1.0, 1.0) * (math.log(MAX_ASPECT) / 2))
    a0, a1, b0, b1 = a0 / stretch, a1 * stretch, b0 / stretch, b1 * stretch
    centre = 13.5
    a2 = centre - a0 * centre - a1 * centre - shift_x
    b2 = centre - b0 * centre - b1 * centre - shift_y
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _change_pen_width(x: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    thicker = tf.nn.max_pool2d(x, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-x, ksize=2, strides=1, padding="SAME")
    # Erosion can wipe out a thin digit; fall back to the original stroke where it would.
    thinner = tf.where(tf.reduce_max(thinner, axis=[1, 2, 3], keepdims=True) > 0.5, thinner, x)
    roll = tf.random.uniform([count, 1, 1, 1])
    x = tf.where(roll < THIN_PEN_RATE, thinner, x)
    return tf.where(roll > 1 - THICK_PEN_RATE, thicker, x)


def _cut_gap(x: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """In a share of the images, erase a disc (soft edge) centred on an inked pixel."""
    flat = tf.reshape(x, [count, 28 * 28])
    where = tf.random.categorical(tf.math.log(flat + 1e-6) * 4.0, 1)[:, 0]  # ink much more likely
    row = tf.cast(where // 28, tf.float32)[:, tf.newaxis, tf.newaxis]
    col = tf.cast(where % 28, tf.float32)[:, tf.newaxis, tf.newaxis]
    grid = tf.cast(tf.range(28), tf.float32)
    distance = tf.sqrt((grid[tf.newaxis, :, tf.newaxis] - row) ** 2
                       + (grid[tf.newaxis, tf.newaxis, :] - col) ** 2)
    radius = tf.random.uniform([count, 1, 1], *GAP_RADIUS_PX)
    keep = tf.clip_by_value(distance - radius + 0.5, 0.0, 1.0)[..., tf.newaxis]
    cut = tf.random.uniform([count, 1, 1, 1]) < GAP_RATE
    return tf.where(cut, x * keep, x)


def _taller_loops(images: tf.Tensor, labels: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """Re-space the rows of a share of the digits so that a 6's loop grows (see TALLER_LOOP_RATE).

    Rows are mapped piecewise-linearly within the ink's height: the split (40–60% of the way down)
    moves up for a 6 and stays for other digits; the ink keeps its top and bottom rows.
    """
    rows = tf.cast(tf.range(28), tf.float32)[tf.newaxis]
    inked = tf.reduce_max(images, axis=2) > 0.1
    top = tf.reduce_min(tf.where(inked, rows, 27.0), axis=1, keepdims=True)
    bottom = tf.maximum(tf.reduce_max(tf.where(inked, rows, 0.0), axis=1, keepdims=True), top + 1.0)
    chosen = tf.cast(tf.random.uniform([count, 1]) < TALLER_LOOP_RATE, tf.float32)
    six = tf.cast(tf.equal(tf.reshape(tf.cast(labels, tf.int32), [-1, 1]), 6), tf.float32)
    split = tf.random.uniform([count, 1], 0.4, 0.6)
    moved = split - tf.random.uniform([count, 1], *LOOP_RISE) * six * chosen
    # For each output row, the row it is read from: (0, 0) → (moved, split) → (1, 1) in ink heights.
    t = (rows - top) / (bottom - top)
    source = tf.where(t < moved, t * split / moved, split + (t - moved) * (1 - split) / (1 - moved))
    source = tf.where((t < 0) | (t > 1), t, source)
    y = tf.clip_by_value(top + source * (bottom - top) + tf.random.uniform([count, 1]) * chosen, 0.0, 27.0)
    below = tf.floor(y)
    weight = (y - below)[..., tf.newaxis]
    below = tf.cast(below, tf.int32)
    above = tf.minimum(below + 1, 27)
    return ((1 - weight) * tf.gather(images, below, batch_dims=1)
            + weight * tf.gather(images, above, batch_dims=1))
