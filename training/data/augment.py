"""Batch augmentation that imitates how people write and how their digits reach us: shifts,
rotation, scale, wide and narrow hands, slant, pen width, gaps and soft (scanned) strokes.

Generic variations only, the same for every digit: a rule for one digit's shape (6s drawn with
taller loops) cost real 4s written with a rounded top. Each was kept only when digits by writers
outside MNIST (`tests/kit/optdigits.py`) read no worse, besides MNIST test and the hard set
(BENCHMARKS.md, "Other people's handwriting"). Elastic distortion (Simard et al. 2003) was tried
and left out: on those writers' digits it made the model read soft, thick strokes as 1s.
"""

from __future__ import annotations

import math

import numpy as np
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
# Soft strokes: a digit scanned at low resolution and scaled up (a Gaussian blur of this width).
SOFT_RATE = 0.3
SOFT_SIGMA_PX = (0.6, 1.4)
SIZE = 28


def augment_batch(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Randomly transform a batch of (N, 28, 28) float images in 0..1 of the digits `labels` (N,).

    Returns the same shape; the labels still hold (no transform depends on them).
    """
    del labels  # the same variations for every digit
    count = tf.shape(images)[0]
    x = _change_pen_width(images[..., tf.newaxis], count)
    x = _cut_gap(x, count)
    x = _soften(x, count)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=_random_affine(count),
        output_shape=tf.constant([SIZE, SIZE]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(x[..., 0], 0.0, 1.0)


def distorted_digits(images: np.ndarray, seed: int, chunk: int = 1000) -> np.ndarray:
    """uint8 digits (N, 28, 28) varied as training varies them, as uint8 again; the same seed gives
    the same digits. What the doubt rule must still answer."""
    tf.random.set_seed(seed)
    scaled = np.asarray(images, np.float32) / 255
    varied = [augment_batch(tf.constant(scaled[start:start + chunk]), tf.zeros([0])).numpy()
              for start in range(0, len(scaled), chunk)]
    return np.round(np.concatenate(varied) * 255).astype(np.uint8) if varied else np.asarray(images)


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


def _soften(x: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """In a share of the images, blur the strokes as a low-resolution scan scaled up does, keeping
    the darkest ink as dark (one blur width per batch: a batch is small against the epoch)."""
    sigma = tf.random.uniform([], *SOFT_SIGMA_PX)
    taps = tf.exp(-(tf.range(-3, 4, dtype=tf.float32) ** 2) / (2 * sigma**2))
    taps = taps / tf.reduce_sum(taps)
    blurred = tf.nn.conv2d(x, tf.reshape(taps, [1, 7, 1, 1]), 1, "SAME")
    blurred = tf.nn.conv2d(blurred, tf.reshape(taps, [7, 1, 1, 1]), 1, "SAME")
    blurred = blurred / tf.maximum(tf.reduce_max(blurred, axis=[1, 2, 3], keepdims=True), 1e-3)
    blurred = blurred * tf.reduce_max(x, axis=[1, 2, 3], keepdims=True)
    return tf.where(tf.random.uniform([count, 1, 1, 1]) < SOFT_RATE, blurred, x)
