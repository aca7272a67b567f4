"""Batch augmentation that imitates how people draw: shifts, rotation, scale, width, slant, pen, gaps."""

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


def augment_batch(images: tf.Tensor, seed: tf.Tensor | None = None) -> tf.Tensor:
    """Randomly transform a batch of (N, 28, 28) float images in 0..1; returns the same shape."""
    count = tf.shape(images)[0]
    x = images[..., tf.newaxis]
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
