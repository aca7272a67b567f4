// MNIST-style centring of the 28×28 drawing: crop to the ink, scale to 20 px, centre of mass at the centre.
'use strict';

window.MnistPreprocess = (() => {
  const SIZE = 28;
  const DIGIT_BOX = 20;

  // The ink's bounding box, or null for an empty grid.
  function boundingBox(grid) {
    let top = SIZE, bottom = -1, left = SIZE, right = -1;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        if (grid[y * SIZE + x] > 0) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    return bottom < 0 ? null : { top, left, height: bottom - top + 1, width: right - left + 1 };
  }

  // Area averaging: each output pixel is the mean of the input area it covers, fractional
  // edges weighted by overlap, so thin strokes turn grey instead of vanishing.
  function resizeArea(src, srcH, srcW, dstH, dstW) {
    const dst = new Float32Array(dstH * dstW);
    const sy = srcH / dstH, sx = srcW / dstW;
    for (let oy = 0; oy < dstH; oy++) {
      const y0 = oy * sy, y1 = y0 + sy;
      for (let ox = 0; ox < dstW; ox++) {
        const x0 = ox * sx, x1 = x0 + sx;
        let sum = 0;
        for (let y = Math.floor(y0); y < Math.min(srcH, Math.ceil(y1)); y++) {
          const wy = Math.min(y + 1, y1) - Math.max(y, y0);
          for (let x = Math.floor(x0); x < Math.min(srcW, Math.ceil(x1)); x++) {
            const wx = Math.min(x + 1, x1) - Math.max(x, x0);
            sum += src[y * srcW + x] * wy * wx;
          }
        }
        dst[oy * dstW + ox] = sum / (sy * sx);
      }
    }
    return dst;
  }

  // grid: 784 floats in 0..1. Returns the centred 784 floats in 0..1, or null when nothing is drawn.
  function toMnist(grid) {
    const box = boundingBox(grid);
    if (box === null) return null;
    const crop = new Float32Array(box.height * box.width);
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        crop[y * box.width + x] = grid[(box.top + y) * SIZE + box.left + x];
      }
    }
    const scale = DIGIT_BOX / Math.max(box.height, box.width);
    const height = Math.max(1, Math.round(box.height * scale));
    const width = Math.max(1, Math.round(box.width * scale));
    const digit = resizeArea(crop, box.height, box.width, height, width);

    let mass = 0, cy = 0, cx = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = digit[y * width + x];
        mass += v; cy += v * y; cx += v * x;
      }
    }
    // Place the centre of mass on the field's centre pixel, but never push ink off the field.
    const centre = (SIZE - 1) / 2;
    const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
    const top = clamp(Math.round(centre - cy / mass), SIZE - height);
    const left = clamp(Math.round(centre - cx / mass), SIZE - width);
    const out = new Float32Array(SIZE * SIZE);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[(top + y) * SIZE + left + x] = Math.min(1, Math.max(0, digit[y * width + x]));
      }
    }
    return out;
  }

  return { SIZE, toMnist, boundingBox, resizeArea };
})();
