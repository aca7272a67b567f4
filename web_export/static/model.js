// The model: loaded once from window.MODEL_DATA (set by model-data.js), then 784 pixels → 10 probabilities.
'use strict';

window.MnistModel = (() => {
  // Labels are the output indices: the exported model's 10 outputs are digits 0..9 in order.
  const LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  let loading = null;
  let backend = '';  // the tf.js backend in use once load() has chosen it: 'wasm' or 'cpu'

  function base64ToArrayBuffer(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  // WebAssembly (SIMD) when the browser can start it, else plain JavaScript. Never webgl: the page
  // does not ship it, and without a GPU it is a slow software renderer.
  async function chooseBackend() {
    if (await startWasm()) return 'wasm';
    if (await tf.setBackend('cpu')) return 'cpu';
    throw new Error('neither the wasm nor the cpu backend of TensorFlow.js started');
  }

  async function startWasm() {
    const base64 = window.TFJS_WASM_SIMD_BASE64;
    if (!base64 || typeof WebAssembly !== 'object' || !tf.findBackendFactory('wasm')) return false;
    let url = null;
    try {
      // Threads need cross-origin isolation (never true from file://), and only the SIMD binary ships.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) return false;
      // The binary comes from a script, not a fetch of a .wasm file: file:// pages may not fetch files.
      url = URL.createObjectURL(new Blob([base64ToArrayBuffer(base64)], { type: 'application/wasm' }));
      // Every name maps to the SIMD binary: with the flags above it is the only one asked for.
      tf.wasm.setWasmPaths(Object.fromEntries(WASM_FILES.map((name) => [name, url])));
      return await tf.setBackend('wasm');
    } catch (error) {
      console.warn('TensorFlow.js wasm backend unavailable, using cpu:', error);
      return false;
    } finally {
      if (url !== null) URL.revokeObjectURL(url);
    }
  }

  // Loading from memory, not from model/model.json, because file:// pages may not fetch files.
  function load() {
    if (loading === null) {
      loading = (async () => {
        const data = window.MODEL_DATA;
        if (!data) throw new Error('model-data.js did not load');
        backend = await chooseBackend();
        const model = await tf.loadGraphModel(tf.io.fromMemory({
          modelTopology: data.modelTopology,
          weightSpecs: data.weightSpecs,
          weightData: base64ToArrayBuffer(data.weightsBase64),
          format: data.format,
          generatedBy: data.generatedBy,
          convertedBy: data.convertedBy,
          signature: data.signature,
        }));
        // A first prediction compiles the backend's kernels now rather than on the first stroke.
        tf.tidy(() => model.predict(tf.zeros([1, 28, 28])));
        return model;
      })();
    }
    return loading;
  }

  // Where each part lies in a row of the graph's output (export.json's "outputs", written with the
  // graph by every export): one view's calibrated probabilities, then (in exports with a doubt rule)
  // the squared distances of the drawing's features to each of the digits' prototypes (the doubt
  // rule reads the smallest), then the model's own logits.
  // The answer is read from the logits (assessBatch); the occlusion map too.
  function columns() {
    return window.MODEL_DATA.exportInfo.outputs;
  }

  // `count` images of 784 floats in 0..1 (not 0..255), row by row as the model was trained on,
  // through the model as ONE batch: every output row, `width` floats each.
  async function run(flat, count) {
    const model = await load();
    if (flat.length !== count * 784) throw new Error(`${count} images need ${count * 784} pixels, not ${flat.length}`);
    const output = tf.tidy(() => model.predict(tf.tensor3d(flat, [count, 28, 28])));
    const width = output.shape[1];
    const values = await output.data();
    output.dispose();
    return { values, width };
  }

  // The image and its four 1-pixel shifts, as training/data/shifts.py makes them (blank pixels shift in).
  const SHIFTS = [[0, 0], [0, 1], [0, -1], [1, 0], [-1, 0]];

  function shiftedViews(pixels, flat, offset) {
    SHIFTS.forEach(([down, right], v) => {
      const view = flat.subarray(offset + v * 784, offset + (v + 1) * 784);
      for (let y = Math.max(0, down); y < Math.min(28, 28 + down); y++) {
        for (let x = Math.max(0, right); x < Math.min(28, 28 + right); x++) view[y * 28 + x] = pixels[(y - down) * 28 + x - right];
      }
    });
  }

  // The answer averages the logits of the five views, then applies the run's temperature and a
  // softmax (as the dashboard does); the doubt rule's distance is the image's own (view 0). Without
  // `shifted`, each image is read alone (as numbers.js scores the crops of a number).
  async function assessBatch(images, { shifted = true } = {}) {
    const views = shifted ? SHIFTS.length : 1;
    const flat = new Float32Array(images.length * views * 784);
    images.forEach((pixels, i) => {
      if (pixels.length !== 784) throw new Error(`an image needs 784 pixels, not ${pixels.length}`);
      if (shifted) shiftedViews(pixels, flat, i * views * 784);
      else flat.set(pixels, i * 784);
    });
    const { values, width } = await run(flat, images.length * views);
    const { logits: [l0], distances } = columns();
    const { temperature } = window.MODEL_DATA.exportInfo;
    return images.map((_, i) => {
      const mean = LABELS.map((_, d) => {
        let sum = 0;
        for (let v = 0; v < views; v++) sum += values[(i * views + v) * width + l0 + d];
        return sum / views / temperature;
      });
      const top = Math.max(...mean);
      const exps = mean.map((value) => Math.exp(value - top));
      const total = exps.reduce((a, b) => a + b, 0);
      const row = i * views * width;
      return {
        probabilities: exps.map((value) => value / total),
        distance: distances ? Math.min(...values.subarray(row + distances[0], row + distances[1])) : null,
      };
    });
  }

  // The logits (before the temperature) of `count` images given as one Float32Array: count × 10.
  async function logitsBatch(flat, count) {
    const { logits } = columns();
    if (!logits) throw new Error('this export has no logits output');
    const { values, width } = await run(flat, count);
    const result = new Float32Array(count * 10);
    for (let i = 0; i < count; i++) result.set(values.subarray(i * width + logits[0], i * width + logits[1]), i * 10);
    return result;
  }

  async function predictBatch(images) {
    return (await assessBatch(images)).map((result) => result.probabilities);
  }

  async function predict(pixels) {
    return (await predictBatch([pixels]))[0];
  }

  // The same rule and words as the dashboard (training/reading/doubt.py): doubt when the top probability
  // is low, "not a digit" when the drawing is far from every digit the model knows.
  function verdict(probabilities, distance) {
    const rule = (window.MODEL_DATA.exportInfo || {}).doubt;
    const order = LABELS.map((_, i) => i).sort((a, b) => probabilities[b] - probabilities[a] || a - b);
    const [first, second] = order;
    const far = Boolean(rule) && distance !== null && distance > rule.max_distance;
    const hesitant = Boolean(rule) && probabilities[first] < rule.min_confidence;
    const result = { digit: LABELS[first], topTwo: [LABELS[first], LABELS[second]], unsure: far || hesitant, notADigit: far };
    result.message = far ? 'This does not look like a digit'
      : hesitant ? `Not sure — it could be ${LABELS[first]} or ${LABELS[second]}`
        : `It looks like ${LABELS[first]}`;
    return result;
  }

  return { LABELS, load, predict, predictBatch, assessBatch, logitsBatch, verdict, backend: () => backend };
})();
