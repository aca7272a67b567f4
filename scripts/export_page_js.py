"""The JavaScript `scripts.bench_export` runs in the exported page: an init script that records when
the model is ready, and the timed predictions, predictBatch calls and occlusion maps it evaluates."""

# Runs before the page's own scripts: records when `mnistStudio.ready` settles (performance.now()
# counts from navigation start) and offers a timeout for the promises this script awaits.
INIT_SCRIPT = """
(() => {
  let studio;
  Object.defineProperty(window, 'mnistStudio', {
    configurable: true,
    get() { return studio; },
    set(value) {
      studio = value;
      window.__benchReady = Promise.resolve(value && value.ready).then(
        () => ({ ok: true, at: performance.now() }),
        (error) => ({ ok: false, at: performance.now(), error: String((error && error.message) || error) }),
      );
    },
  });
  window.__benchWithin = (promise, ms, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)),
  ]);
  window.__benchImages = (b64, count) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const images = [];
    for (let i = 0; i < count; i++) {
      const image = new Float32Array(784);
      for (let j = 0; j < 784; j++) image[j] = bytes[i * 784 + j] / 255;
      images.push(image);
    }
    return images;
  };
})();
"""

TIME_PREDICTIONS_JS = """
async ({ b64, count, warmup, timeoutMs }) => window.__benchWithin((async () => {
  const studio = window.mnistStudio;
  await studio.ready;
  const images = window.__benchImages(b64, count);
  for (let i = 0; i < warmup; i++) await studio.predict(images[i % count]);
  const times = [];
  const digits = [];
  for (const image of images) {
    const started = performance.now();
    const probabilities = await studio.predict(image);
    times.push(performance.now() - started);
    digits.push(probabilities.indexOf(Math.max(...probabilities)));
  }
  const gl = document.createElement('canvas').getContext('webgl');
  const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl ? gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null;
  return { times, digits, backend: studio.backend || tf.getBackend(), renderer };
})(), timeoutMs, 'timed predictions')
"""

# The same timing on tf.js's plain-JavaScript backend, for comparison with the one the page chose.
TIME_ON_CPU_JS = """
async ({ count, warmup, timeoutMs }) => window.__benchWithin((async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
  const images = window.__benchAll.slice(0, count);
  for (let i = 0; i < warmup; i++) await window.mnistStudio.predict(images[i % count]);
  const times = [];
  for (const image of images) {
    const started = performance.now();
    await window.mnistStudio.predict(image);
    times.push(performance.now() - started);
  }
  return { times, backend: tf.getBackend() };
})(), timeoutMs, 'timed predictions on the cpu backend')
"""

# "Where it looks": the page's own occlusion (mnistStudio.occlusion: building the occluded copies,
# one batched forward pass, reading the logits back, the map), then every copy through the model
# for comparison (what the page would cost without skipping the patches of bare paper).
TIME_OCCLUSION_JS = """
async ({ count, compared, timeoutMs }) => window.__benchWithin((async () => {
  const times = [], copies = [], maps = [];
  for (const [i, image] of window.__benchAll.slice(0, count).entries()) {
    const started = performance.now();
    const result = await window.mnistStudio.occlusion(image);
    times.push(performance.now() - started);
    copies.push(result.copies);
    if (i < compared) maps.push(result.normalised);
  }
  return { times, copies, maps };
})(), timeoutMs, 'timed occlusion maps')
"""

TIME_FULL_BATCH_JS = """
async ({ count, timeoutMs }) => window.__benchWithin((async () => {
  const all = new Float32Array(170 * 784).fill(0.5);
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await MnistModel.logitsBatch(all, 170);
    times.push(performance.now() - started);
  }
  return times;
})(), timeoutMs, 'full batches')
"""

LOAD_IMAGES_JS = """
({ b64, count }) => { window.__benchAll = window.__benchImages(b64, count); return window.__benchAll.length; }
"""

PREDICT_BATCH_JS = """
async ({ start, end, timeoutMs }) => window.__benchWithin((async () => {
  const started = performance.now();
  const probabilities = await window.mnistStudio.predictBatch(window.__benchAll.slice(start, end));
  return { probabilities, ms: performance.now() - started };
})(), timeoutMs, 'predictBatch')
"""
