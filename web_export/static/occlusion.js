// Where the model looks: occlusion sensitivity, a port of training/reading/explain.py (same patches, same
// fill, same logits), computed as ONE batched forward pass of the occluded copies; and its colours.
'use strict';

window.MnistOcclusion = (() => {
  const SIZE = 28;
  // A square of PATCH×PATCH pixels is blanked (set to 0, paper) at every STRIDE-th position:
  // 9 × 9 = 81 patches (training/reading/explain.py). The drawing itself goes first in the batch, then one copy per patch
  // that covers some ink: blanking a patch of bare paper leaves the drawing as it was, so its
  // drop is 0 without asking the model (many patches of an MNIST digit touch no ink).
  const PATCH = 4;
  const STRIDE = 3;

  // Top-left corners of the occluding patches, row by row; the last row and column touch the border.
  function patchCorners() {
    const starts = [];
    for (let start = 0; start <= SIZE - PATCH; start += STRIDE) starts.push(start);
    if (starts[starts.length - 1] !== SIZE - PATCH) starts.push(SIZE - PATCH);
    return starts.flatMap((row) => starts.map((col) => [row, col]));
  }
  const CORNERS = patchCorners();

  // The indices of the corners whose patch holds a pixel that blanking would change.
  function inkedPatches(pixels) {
    const inked = [];
    CORNERS.forEach(([row, col], index) => {
      for (let y = row; y < row + PATCH; y++) {
        for (let x = col; x < col + PATCH; x++) {
          if (pixels[y * SIZE + x] !== 0) { inked.push(index); return; }
        }
      }
    });
    return inked;
  }

  // The 784 pixels first, then one copy per listed corner with its patch blanked.
  function occludedBatch(pixels, patches) {
    const batch = new Float32Array((patches.length + 1) * SIZE * SIZE);
    for (let i = 0; i <= patches.length; i++) batch.set(pixels, i * SIZE * SIZE);
    patches.forEach((corner, i) => {
      const [row, col] = CORNERS[corner];
      const offset = (i + 1) * SIZE * SIZE;
      for (let y = row; y < row + PATCH; y++) batch.fill(0, offset + y * SIZE + col, offset + y * SIZE + col + PATCH);
    });
    return batch;
  }

  // Per pixel, the mean drop of the target's logit over the patches that cover it. Logits, not
  // probabilities: a confident answer's probability barely moves when a stroke is hidden.
  function sensitivity(logits, patches, target) {
    const drops = new Float64Array(CORNERS.length);  // 0 for the patches of bare paper
    patches.forEach((corner, i) => { drops[corner] = logits[target] - logits[(i + 1) * 10 + target]; });
    const total = new Float64Array(SIZE * SIZE);
    const count = new Float64Array(SIZE * SIZE);
    CORNERS.forEach(([row, col], index) => {
      const drop = drops[index];
      for (let y = row; y < row + PATCH; y++) {
        for (let x = col; x < col + PATCH; x++) { total[y * SIZE + x] += drop; count[y * SIZE + x] += 1; }
      }
    });
    return Float32Array.from(total, (sum, i) => sum / Math.max(count[i], 1));
  }

  // The map divided by its largest absolute value: 1 is the region whose hiding lowers the answer
  // the most, -1 the one whose hiding raises it the most (all zeros when nothing changes it).
  function normalise(map) {
    const top = map.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
    return top > 0 ? map.map((value) => value / top) : new Float32Array(map.length);
  }

  // pixels: the 784 floats the model is fed. target: a digit, or null for the top answer.
  // Returns {map (raw logit drops), normalised, target, copies (occluded copies through the model)}.
  async function explain(pixels, target = null) {
    if (pixels.length !== SIZE * SIZE) throw new Error(`an image needs ${SIZE * SIZE} pixels, not ${pixels.length}`);
    const patches = inkedPatches(pixels);
    const logits = await MnistModel.logitsBatch(occludedBatch(pixels, patches), patches.length + 1);
    if (target === null) {
      target = 0;
      for (let digit = 1; digit < 10; digit++) if (logits[digit] > logits[target]) target = digit;
    }
    const map = sensitivity(logits, patches, target);
    return { map, normalised: normalise(map), target, copies: patches.length };
  }

  // How the page colours a map: red where hiding a region lowers the answer, blue where it
  // raises it; the stronger, the more opaque.
  const RAISES = [37, 99, 235];
  const LOWERS = [220, 38, 38];
  const colour = (weight) => {
    const [r, g, b] = weight >= 0 ? LOWERS : RAISES;
    return `rgba(${r}, ${g}, ${b}, ${(0.85 * Math.min(1, Math.abs(weight))).toFixed(3)})`;
  };

  // The normalised map at a point of the model's 28×28 image (pixel i spans [i, i + 1)), bilinear
  // between pixel centres; 0 outside the image.
  function mapAt(normalised, x, y) {
    const fx = x - 0.5, fy = y - 0.5;
    const x0 = Math.floor(fx), y0 = Math.floor(fy);
    let value = 0;
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      const px = x0 + dx, py = y0 + dy;
      if (px < 0 || py < 0 || px >= SIZE || py >= SIZE) continue;
      value += normalised[py * SIZE + px] * (1 - Math.abs(fx - px)) * (1 - Math.abs(fy - py));
    }
    return value;
  }

  return { PATCH, STRIDE, CORNERS, explain, RAISES, LOWERS, colour, mapAt };
})();
