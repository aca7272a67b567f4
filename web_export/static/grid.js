// The page: the 28×28 paint grid, the probability chart, where it looks, and the hook window.mnistStudio.
'use strict';

(() => {
  const SIZE = 28;
  const grid = new Float32Array(SIZE * SIZE);  // 1 = ink, 0 = paper: the model's 0..1 scale
  const canvas = document.getElementById('grid');
  const context = canvas.getContext('2d');
  const cellPx = canvas.width / SIZE;
  const prediction = document.getElementById('prediction');
  const chart = document.getElementById('chart');
  const modelView = document.getElementById('model-view').getContext('2d');
  const paintButton = document.getElementById('mode-paint');
  const eraseButton = document.getElementById('mode-erase');
  const heatmapButton = document.getElementById('heatmap-toggle');
  const heatmapLegend = document.getElementById('heatmap-legend');
  const heatmapCaption = document.getElementById('heatmap-caption');
  let eraseMode = false;
  let shown = null;  // {pixels, toModel} of the drawing last classified, null when there is none
  let heatmapOn = false;
  let heatmap = null;  // {pixels, toModel, map, normalised, target} while the toggle is on

  // --- Grid drawing --------------------------------------------------------------------------

  function drawGrid() {
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (heatmap) drawHeatmapOnGrid(heatmap);
    // Over a heatmap the ink is see-through, so the colour under each stroke stays readable.
    context.fillStyle = heatmap ? 'rgba(17, 17, 17, 0.6)' : '#111';
    for (let i = 0; i < grid.length; i++) {
      if (grid[i] > 0) context.fillRect((i % SIZE) * cellPx, Math.floor(i / SIZE) * cellPx, cellPx, cellPx);
    }
    context.strokeStyle = '#e3e6ea';
    context.lineWidth = 1;
    context.beginPath();
    for (let k = 1; k < SIZE; k++) {
      const at = Math.round(k * cellPx) + 0.5;
      context.moveTo(at, 0); context.lineTo(at, canvas.height);
      context.moveTo(0, at); context.lineTo(canvas.width, at);
    }
    context.stroke();
  }

  function cellAt(event) {
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor(((event.clientX - rect.left) / rect.width) * SIZE);
    const row = Math.floor(((event.clientY - rect.top) / rect.height) * SIZE);
    return { row: Math.min(SIZE - 1, Math.max(0, row)), col: Math.min(SIZE - 1, Math.max(0, col)) };
  }

  // Every cell on the line between two pointer events, so a fast drag leaves no gaps.
  function setLine(from, to, value) {
    const steps = Math.max(Math.abs(to.row - from.row), Math.abs(to.col - from.col));
    for (let s = 0; s <= steps; s++) {
      const t = steps === 0 ? 0 : s / steps;
      const row = Math.round(from.row + (to.row - from.row) * t);
      const col = Math.round(from.col + (to.col - from.col) * t);
      grid[row * SIZE + col] = value;
    }
  }

  let stroke = null;  // {value, last} while a button or finger is down

  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 && event.button !== 2) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    const value = event.button === 2 || eraseMode ? 0 : 1;
    const cell = cellAt(event);
    stroke = { value, last: cell };
    // The heatmap goes while a stroke is drawn and comes back for the new drawing when it ends:
    // its batch holds the page, and a stroke in progress must not wait for it.
    if (heatmap) { heatmap = null; setHeatmapState('busy'); }
    setLine(cell, cell, value);
    changed();
  });
  canvas.addEventListener('pointermove', (event) => {
    if (stroke === null) return;
    const cell = cellAt(event);
    setLine(stroke.last, cell, stroke.value);
    stroke.last = cell;
    changed();
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    canvas.addEventListener(type, () => {
      if (stroke === null) return;
      stroke = null;
      if (heatmapOn) explainAgain();
    });
  }
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());

  function setEraseMode(on) {
    eraseMode = on;
    paintButton.setAttribute('aria-pressed', String(!on));
    eraseButton.setAttribute('aria-pressed', String(on));
    canvas.classList.toggle('erasing', on);
  }
  paintButton.addEventListener('click', () => setEraseMode(false));
  eraseButton.addEventListener('click', () => setEraseMode(true));
  document.getElementById('clear').addEventListener('click', () => { grid.fill(0); changed(); });

  // --- Where it looks (the map's colours are MnistOcclusion's) -----------------------------
  const { RAISES, LOWERS, colour: heatColour, mapAt } = MnistOcclusion;
  // Each grid cell takes the map's value where its centre lands in what the model sees, so the
  // colour sits on the strokes as painted, wherever and however large they are on the grid.
  function drawHeatmapOnGrid({ normalised, toModel }) {
    for (let row = 0; row < SIZE; row++) {
      for (let col = 0; col < SIZE; col++) {
        const x = toModel.x[0] * (col + 0.5) + toModel.x[1];
        const y = toModel.y[0] * (row + 0.5) + toModel.y[1];
        const weight = mapAt(normalised, x, y);
        if (Math.abs(weight) < 0.02) continue;
        context.fillStyle = heatColour(weight);
        context.fillRect(col * cellPx, row * cellPx, cellPx, cellPx);
      }
    }
  }

  function setHeatmapState(state) {
    canvas.dataset.heatmap = state;  // 'off', 'busy', 'on' (drawn), 'empty' (no digit) or 'error'
  }

  async function updateHeatmap() {
    if (!heatmapOn || shown === null) {
      if (heatmap) { heatmap = null; drawGrid(); }
      if (heatmapOn) heatmapCaption.textContent = 'Occlusion: paint a digit to see where the model looks.';
      setHeatmapState(heatmapOn ? 'empty' : 'off');
      return;
    }
    setHeatmapState('busy');
    const drawing = shown;
    let result;
    try {
      result = await MnistOcclusion.explain(drawing.pixels, drawing.answer ?? null);
    } catch (error) {
      heatmapCaption.textContent = `Where it looks could not be computed: ${error.message}`;
      if (heatmap) { heatmap = null; drawGrid(); }
      setHeatmapState('error');
      return;
    }
    if (!heatmapOn || shown !== drawing) return;  // switched off, or a newer drawing is on its way
    heatmap = { ...drawing, ...result };
    heatmapCaption.textContent = `Occlusion: how much the top answer (${MnistModel.LABELS[result.target]}) `
      + 'drops when each region is hidden.';
    drawGrid();
    showModelView(drawing.pixels);
    setHeatmapState('on');
  }

  heatmapButton.addEventListener('click', () => {
    heatmapOn = !heatmapOn;
    heatmapButton.setAttribute('aria-pressed', String(heatmapOn));
    heatmapLegend.hidden = !heatmapOn;
    heatmap = null;
    drawGrid();
    showModelView(shown && shown.pixels);
    setHeatmapState(heatmapOn ? 'busy' : 'off');
    if (heatmapOn) explainAgain();
  });

  // Explained by the next prediction round, in order with the strokes.
  function explainAgain() {
    pending = true;
    prediction.dataset.state = 'busy';
    if (!busy) requestAnimationFrame(runPrediction);
  }

  // --- Prediction ----------------------------------------------------------------------------

  // One prediction at a time; strokes made meanwhile are folded into the next one, so results
  // always arrive in order and a slow device never queues up stale work.
  let busy = false, pending = false;

  function changed() {
    drawGrid();
    pending = true;
    prediction.dataset.state = 'busy';  // 'done' once the shown prediction matches the grid
    if (!busy) requestAnimationFrame(runPrediction);
  }

  async function runPrediction() {
    if (busy || !pending) return;
    busy = true;
    pending = false;
    try {
      shown = MnistPreprocess.toMnistMapped(grid);
      const pixels = shown && shown.pixels;
      showModelView(pixels);
      if (pixels === null) {
        showHint(grid.some((value) => value > 0));
      } else {
        const [result] = await MnistModel.assessBatch([pixels]);
        // The map explains the digit answered (the views' mean), which the image alone may rank second.
        shown.answer = result.probabilities.indexOf(Math.max(...result.probabilities));
        showProbabilities(result.probabilities, MnistModel.verdict(result.probabilities, result.distance));
      }
      // After the answer is on screen, never before it, and not in the middle of a stroke.
      if (!pending && stroke === null) await updateHeatmap();
    } catch (error) {
      prediction.textContent = `Prediction failed: ${error.message}`;
    } finally {
      busy = false;
      if (pending) requestAnimationFrame(runPrediction);
      else prediction.dataset.state = 'done';
    }
  }

  // painted: some cells hold ink, too few to be a digit (a tap says nothing otherwise).
  function showHint(painted = false) {
    prediction.dataset.digit = '';
    prediction.dataset.unsure = 'false';
    prediction.textContent = painted ? 'Too little ink to read: paint a few more cells.'
      : 'Paint a digit on the grid.';
    chart.classList.add('empty');
    renderChart(null);
  }

  function showProbabilities(probabilities, verdict) {
    const top = probabilities.indexOf(Math.max(...probabilities));
    prediction.dataset.digit = String(MnistModel.LABELS[top]);
    prediction.dataset.unsure = String(verdict.unsure);
    const percent = ` (${(probabilities[top] * 100).toFixed(1)}%)`;
    if (verdict.unsure) {
      // Doubt first; the best guess stays visible in the chart and in smaller words.
      const guess = Object.assign(document.createElement('span'), {
        className: 'guess', textContent: ` Best guess ${MnistModel.LABELS[top]}${percent}.`,
      });
      prediction.replaceChildren(Object.assign(document.createElement('strong'), { textContent: verdict.message }), guess);
    } else {
      prediction.replaceChildren('It looks like ', Object.assign(document.createElement('strong'), {
        textContent: String(MnistModel.LABELS[top]),
      }), percent);
    }
    chart.classList.remove('empty');
    renderChart(probabilities);
  }

  const renderChart = MnistChart.bars(chart, MnistModel.LABELS);

  // What the model sees; with the heatmap on, the same colours over it (on a dimmed digit).
  function showModelView(pixels) {
    const image = modelView.createImageData(SIZE, SIZE);
    const weights = heatmap && heatmap.pixels === pixels ? heatmap.normalised : null;
    for (let i = 0; i < SIZE * SIZE; i++) {
      const v = pixels ? pixels[i] : 0;
      let rgb = [v, v, v].map((c) => c * 255);
      if (weights) {
        const grey = 40 + 120 * v;
        const alpha = 0.85 * Math.min(1, Math.abs(weights[i]));
        rgb = (weights[i] >= 0 ? LOWERS : RAISES).map((c) => grey + (c - grey) * alpha);
      }
      image.data.set([...rgb.map(Math.round), 255], i * 4);
    }
    modelView.putImageData(image, 0, 0);
  }

  // --- Start ---------------------------------------------------------------------------------

  drawGrid();
  showHint();
  showModelView(null);
  setHeatmapState('off');
  const info = document.getElementById('model-info');
  const ready = MnistModel.load().then(() => {
    const meta = window.MODEL_DATA.exportInfo;
    info.textContent = meta
      ? `Model ${meta.run_id} (${meta.architecture}, ${(meta.test_accuracy * 100).toFixed(2)}% test accuracy), running in your browser with TensorFlow.js (${MnistModel.backend()} backend).`
      : `Model loaded, running in your browser with TensorFlow.js (${MnistModel.backend()} backend).`;
    document.body.dataset.ready = 'true';
  }, (error) => {
    info.textContent = `The model could not be loaded: ${error.message}`;
    document.body.dataset.ready = 'error';
    throw error;
  });

  // For tests and the curious: the same functions the page itself uses.
  window.mnistStudio = {
    ready,
    labels: MnistModel.LABELS,
    get backend() { return MnistModel.backend(); },  // 'wasm' or 'cpu' once ready, '' before
    predict: MnistModel.predict,
    predictBatch: MnistModel.predictBatch,
    assessBatch: MnistModel.assessBatch,  // [{probabilities, distance}] per image
    verdict: MnistModel.verdict,
    preprocess: MnistPreprocess.toMnist,
    grid: () => Array.from(grid),
    // Occlusion of any 784 model pixels, and the map the page shows now (null while off).
    occlusion: async (pixels) => {
      const { map, normalised, target, copies } = await MnistOcclusion.explain(Float32Array.from(pixels));
      return { map: Array.from(map), normalised: Array.from(normalised), target, copies };
    },
    heatmap: () => heatmap && {
      pixels: Array.from(heatmap.pixels), map: Array.from(heatmap.map),
      normalised: Array.from(heatmap.normalised), target: heatmap.target,
    },
    setGrid(values) { grid.set(values); changed(); },
  };
})();
