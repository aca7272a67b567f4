// The model: loaded once from window.MODEL_DATA (set by model-data.js), then 784 pixels → 10 probabilities.
'use strict';

window.MnistModel = (() => {
  // Labels are the output indices: the exported model's 10 outputs are digits 0..9 in order.
  const LABELS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  let loading = null;

  function base64ToArrayBuffer(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  // Loading from memory, not from model/model.json, because file:// pages may not fetch files.
  function load() {
    if (loading === null) {
      loading = (async () => {
        const data = window.MODEL_DATA;
        if (!data) throw new Error('model-data.js did not load');
        await tf.ready();
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

  // Pixels are floats in 0..1 (not 0..255), row by row, as the model was trained on.
  async function predictBatch(images) {
    const model = await load();
    const flat = new Float32Array(images.length * 784);
    images.forEach((pixels, i) => {
      if (pixels.length !== 784) throw new Error(`an image needs 784 pixels, not ${pixels.length}`);
      flat.set(pixels, i * 784);
    });
    const output = tf.tidy(() => model.predict(tf.tensor3d(flat, [images.length, 28, 28])));
    const values = await output.data();
    output.dispose();
    return images.map((_, i) => Array.from(values.subarray(i * 10, i * 10 + 10)));
  }

  async function predict(pixels) {
    return (await predictBatch([pixels]))[0];
  }

  return { LABELS, load, predict, predictBatch };
})();
