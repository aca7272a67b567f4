// MNIST-style centring of the grid, a port of training/data/preprocess.py's `to_mnist` for 2-D arrays:
// find the ink, drop stray specks, scale up, bring the pen to MNIST's width, then scale the longer
// side to 20 px and put the centre of mass at MNIST's centre. Pillow's resampling is ported too,
// so the page and the dashboard feed the model the same 28×28 image.
'use strict';

window.MnistPreprocess = (() => {
  const SIZE = 28;
  const INK_BOX = 20;
  const CENTRE = 14.0;
  const WORK_BOX = 4 * INK_BOX;
  const TARGET_STROKE = 10.0;
  const STROKE_TOLERANCE = 1.15;
  const MIN_CONTRAST = 0.15;
  const SPECK_SHARE = 0.02;
  const GROUP_CELLS = 2;
  const GRID = 64;

  // A plane is {h, w, data: Float32Array(h * w)}, row by row.
  const plane = (h, w, data = new Float32Array(h * w)) => ({ h, w, data });

  // Python's round(): halves go to the even neighbour.
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  function quantile(sorted, q) {  // numpy's default (linear) percentile
    const at = q * (sorted.length - 1);
    const lo = Math.floor(at), hi = Math.ceil(at);
    return Math.fround(sorted[lo] + Math.fround(Math.fround(sorted[hi] - sorted[lo]) * (at - lo)));
  }

  function border(p) {
    const values = [];
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        if (y < 2 || y >= p.h - 2 || x < 2 || x >= p.w - 2) values.push(p.data[y * p.w + x]);
      }
    }
    return Float64Array.from(values).sort();
  }

  // Ink 1.0 where the pen was: the background is the border's median, the ink whatever differs
  // from it the most. Null when there is no ink. Float32 arithmetic as numpy does it (fround), so
  // that a pixel is ink here exactly when it is in Python.
  function inkMap(p) {
    const f = Math.fround;
    const background = quantile(border(p), 0.5);
    let darkest = -Infinity, lightest = -Infinity;
    for (const v of p.data) { darkest = Math.max(darkest, f(background - v)); lightest = Math.max(lightest, f(v - background)); }
    const sign = darkest > lightest ? -1 : 1;
    const contrast = plane(p.h, p.w, p.data.map((v) => Math.max(0, f(sign * (v - background)))));
    const scale = Math.max(darkest, lightest, 0);
    if (scale < MIN_CONTRAST) return null;
    const floor = f(Math.min(0.5 * scale, Math.max(0.1 * scale, 3 * quantile(border(contrast), 0.75))));
    const range = f(scale - floor);
    contrast.data = contrast.data.map((v) => Math.min(1, Math.max(0, f(f(v - floor) / range))));
    return contrast;
  }

  // Grayscale dilation by one-pixel steps (edges repeated), alternating square and cross kernels.
  function grow(p, steps) {
    let src = p.data;
    for (let step = 0; step < steps; step++) {
      const out = new Float32Array(src.length);
      const at = (y, x) => src[Math.min(p.h - 1, Math.max(0, y)) * p.w + Math.min(p.w - 1, Math.max(0, x))];
      for (let y = 0; y < p.h; y++) {
        for (let x = 0; x < p.w; x++) {
          let m = at(y, x);
          if (step % 2 === 0) {
            for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) m = Math.max(m, at(y + dy, x + dx));
          } else {
            m = Math.max(m, at(y - 1, x), at(y + 1, x), at(y, x - 1), at(y, x + 1));
          }
          out[y * p.w + x] = m;
        }
      }
      src = out;
    }
    return plane(p.h, p.w, src);
  }

  const sum = (data) => data.reduce((a, v) => a + v, 0);

  // Removes small blobs far from the digit, as training/data/ink.py's drop_specks: the ink pooled
  // into cells (at most GRID a side), strokes within GROUP_CELLS cells of each other one group.
  function dropSpecks(ink) {
    const cell = Math.max(1, Math.ceil(Math.max(ink.h, ink.w) / GRID));
    const rows = Math.ceil(ink.h / cell), cols = Math.ceil(ink.w / cell);
    const mass = plane(rows, cols, new Float64Array(rows * cols));
    for (let y = 0; y < ink.h; y++) {
      for (let x = 0; x < ink.w; x++) mass.data[Math.floor(y / cell) * cols + Math.floor(x / cell)] += ink.data[y * ink.w + x];
    }
    const total = sum(mass.data);
    if (total < Math.max(4.0, 1e-4 * ink.h * ink.w)) return null;  // a tap, not a digit
    const near = grow(plane(rows, cols, mass.data.map((v) => (v > 0 ? 1 : 0))), GROUP_CELLS);
    const { labels, count } = components(near.data, rows, cols);
    const groupMass = new Float64Array(count);
    mass.data.forEach((m, i) => { if (m > 0) groupMass[labels[i]] += m; });
    const heaviest = groupMass.indexOf(Math.max(...groupMass));
    const keep = Array.from(groupMass, (m, id) => id === heaviest || m >= SPECK_SHARE * total);
    return plane(ink.h, ink.w, ink.data.map((v, i) => {
      const at = Math.floor(Math.floor(i / ink.w) / cell) * cols + Math.floor((i % ink.w) / cell);
      return v > 0 && !keep[labels[at]] ? 0 : v;
    }));
  }

  // 8-connected components of the cells > 0, numbered in the order their first cell comes (row by
  // row): labels (-1 where there is nothing) and how many.
  function components(data, h, w) {
    const labels = new Int32Array(h * w).fill(-1);
    let count = 0;
    const stack = [];
    for (let start = 0; start < labels.length; start++) {
      if (!(data[start] > 0) || labels[start] >= 0) continue;
      labels[start] = count;
      stack.push(start);
      while (stack.length) {
        const i = stack.pop();
        const y = Math.floor(i / w), x = i % w;
        for (let ny = Math.max(0, y - 1); ny <= Math.min(h - 1, y + 1); ny++) {
          for (let nx = Math.max(0, x - 1); nx <= Math.min(w - 1, x + 1); nx++) {
            const j = ny * w + nx;
            if (data[j] > 0 && labels[j] < 0) { labels[j] = count; stack.push(j); }
          }
        }
      }
      count++;
    }
    return { labels, count };
  }

  function crop(p, threshold) {
    let top = p.h, bottom = -1, left = p.w, right = -1;
    for (let y = 0; y < p.h; y++) {
      for (let x = 0; x < p.w; x++) {
        if (p.data[y * p.w + x] > threshold) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    if (bottom < 0) return null;
    const out = plane(bottom - top + 1, right - left + 1);
    Object.assign(out, { top, left });  // where the crop starts in `p`
    for (let y = 0; y < out.h; y++) {
      out.data.set(p.data.subarray((top + y) * p.w + left, (top + y) * p.w + right + 1), y * out.w);
    }
    return out;
  }

  function pad(p, margin) {
    const out = plane(p.h + 2 * margin, p.w + 2 * margin);
    for (let y = 0; y < p.h; y++) out.data.set(p.data.subarray(y * p.w, (y + 1) * p.w), (y + margin) * out.w + margin);
    return out;
  }

  // --- Pillow's resampling (Resample.c), for "F" images --------------------------------------

  const FILTERS = {
    box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
    bilinear: { support: 1.0, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  };

  function coefficients(inSize, in0, in1, outSize, filter) {
    const scale = (in1 - in0) / outSize;
    const filterScale = Math.max(scale, 1);
    const support = filter.support * filterScale;
    const result = [];
    for (let xx = 0; xx < outSize; xx++) {
      const centre = in0 + (xx + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(centre - support + 0.5));
      const xmax = Math.min(inSize, Math.trunc(centre + support + 0.5));
      const weights = [];
      let total = 0;
      for (let x = xmin; x < xmax; x++) {
        const w = filter.weight((x - centre + 0.5) / filterScale);
        weights.push(w); total += w;
      }
      result.push({ xmin, weights: total !== 0 ? weights.map((w) => w / total) : weights });
    }
    return result;
  }

  // resize(p, outW, outH, filterName, box = [x0, y0, x1, y1]) like Image.resize: horizontal pass, then vertical.
  function resize(p, outW, outH, filterName, box = [0, 0, p.w, p.h]) {
    const filter = FILTERS[filterName];
    const horizontal = coefficients(p.w, box[0], box[2], outW, filter);
    const vertical = coefficients(p.h, box[1], box[3], outH, filter);
    const mid = plane(p.h, outW);
    for (let y = 0; y < p.h; y++) {
      horizontal.forEach(({ xmin, weights }, xx) => {
        let s = 0;
        for (let k = 0; k < weights.length; k++) s += p.data[y * p.w + xmin + k] * weights[k];
        mid.data[y * outW + xx] = s;
      });
    }
    const out = plane(outH, outW);
    vertical.forEach(({ xmin, weights }, yy) => {
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let k = 0; k < weights.length; k++) s += mid.data[(xmin + k) * outW + x] * weights[k];
        out.data[yy * outW + x] = s;
      }
    });
    return out;
  }

  // --- Size, position and pen width ----------------------------------------------------------

  function strokeWidth(ink) {
    const area = sum(ink.data);
    const grown = sum(grow(ink, 1).data) - area;
    return grown <= 0 ? 0 : (2 * area / grown) * (4 / Math.PI);
  }

  function normaliseStroke(work) {
    const width = strokeWidth(work);
    if (TARGET_STROKE / STROKE_TOLERANCE <= width && width <= TARGET_STROKE * STROKE_TOLERANCE) return work;
    const steps = roundHalfEven(Math.abs(TARGET_STROKE - width) / (2 * 1.09));
    if (steps === 0) return work;
    if (width < TARGET_STROKE) {
      const thicker = grow(work, steps);
      const top = Math.max(...thicker.data);
      return plane(work.h, work.w, thicker.data.map((v) => v / top));
    }
    for (let tries = 0; tries < 3; tries++) {
      const negative = plane(work.h, work.w, work.data.map((v) => -v));
      const thinner = plane(work.h, work.w, grow(negative, Math.max(1, steps >> tries)).data.map((v) => -v));
      if (Math.max(...thinner.data) > 0.5) return thinner;
    }
    return work;
  }

  function place(work) {
    const scale = INK_BOX / Math.max(work.h, work.w);
    let total = 0, cy = 0, cx = 0;
    for (let y = 0; y < work.h; y++) {
      for (let x = 0; x < work.w; x++) {
        const v = work.data[y * work.w + x];
        total += v; cy += v * y; cx += v * x;
      }
    }
    const margin = Math.ceil(SIZE / scale) + 1;
    const padded = pad(work, margin);
    const left = cx / total + 0.5 + margin - (CENTRE + 0.5) / scale;
    const top = cy / total + 0.5 + margin - (CENTRE + 0.5) / scale;
    const box = [left, top, left + SIZE / scale, top + SIZE / scale];
    const pixels = resize(padded, SIZE, SIZE, 'box', box).data.map((v) => Math.min(1, Math.max(0, v)));
    // A point u of `work` lands at (u - origin) · scale in the 28×28 image, along each axis.
    return { pixels, scale, originX: left - margin, originY: top - margin };
  }

  // grid: 784 floats in 0..1 (ink 1.0). Returns the 784 floats the model is fed, and where each
  // grid point lands in them: toModel.x = [a, b] puts grid column position x (in cells, 0..28) at
  // a·x + b in the model's 28×28 image (likewise rows with toModel.y), the crop, enlargement and
  // placement composed. Null when there is no digit to classify (empty grid, or fewer than four
  // cells of ink).
  function toMnistMapped(grid) {
    if (grid.length !== SIZE * SIZE) throw new Error(`the grid needs ${SIZE * SIZE} cells, not ${grid.length}`);
    const ink = inkMap(plane(SIZE, SIZE, Float32Array.from(grid)));
    return ink && inkToMnistMapped(ink);
  }

  // Like training/data/preprocess.py's ink_to_mnist: an ink map (a plane, ink 1.0) of any size.
  function inkToMnistMapped(ink) {
    const kept = dropSpecks(ink);
    const digit = kept && crop(kept, 0.0);
    if (!digit) return null;
    const factor = WORK_BOX / Math.max(digit.h, digit.w);
    const width = Math.max(1, roundHalfEven(digit.w * factor));
    const height = Math.max(1, roundHalfEven(digit.h * factor));
    // Area averaging when shrinking is the anti-aliasing MNIST used; bilinear when enlarging.
    const resized = resize(digit, width, height, factor < 1 ? 'box' : 'bilinear');
    resized.data = resized.data.map((v) => Math.min(1, Math.max(0, v)));
    const work = crop(normaliseStroke(pad(resized, WORK_BOX / 2)), 0.02);
    if (!work) return null;
    const placed = place(work);
    const axis = (cropStart, zoom, workStart, origin) => [
      zoom * placed.scale, (WORK_BOX / 2 - cropStart * zoom - workStart - origin) * placed.scale,
    ];
    return {
      pixels: placed.pixels,
      toModel: {
        x: axis(digit.left, width / digit.w, work.left, placed.originX),
        y: axis(digit.top, height / digit.h, work.top, placed.originY),
      },
    };
  }

  // The 784 floats the model is fed, or null when there is no digit.
  const toMnist = (grid) => { const mapped = toMnistMapped(grid); return mapped && mapped.pixels; };

  // The 784 floats the model is fed for an ink map of any size, or null when it holds no digit.
  const inkToMnist = (ink) => { const mapped = inkToMnistMapped(ink); return mapped && mapped.pixels; };

  return { SIZE, plane, border, quantile, inkMap, inkToMnist, components, resize, toMnist, toMnistMapped, roundHalfEven };
})();
