// The page's number mode: the "One digit / A number" switch, a wide canvas to write on (pen,
// eraser, clear), opening an image, and the number read, with a box over each digit.
'use strict';

(() => {
  const PEN = 16;  // pen and eraser widths in canvas pixels: the dashboard's number canvas uses 16
  const ERASER = 40;
  const SURE = '#2563eb', DOUBT = '#dc2626';
  const canvas = document.getElementById('number-canvas');
  const ink = canvas.getContext('2d', { willReadFrequently: true });
  const photo = document.getElementById('number-photo');
  const boxes = document.getElementById('number-boxes');
  const numberLine = document.getElementById('number');
  const message = document.getElementById('number-message');
  const digitList = document.getElementById('number-digits');
  const penButton = document.getElementById('number-pen');
  const eraseButton = document.getElementById('number-erase');
  const fileInput = document.getElementById('number-file');
  // On a phone's width the canvas is less wide, so that it stays tall enough to write on.
  if (matchMedia('(max-width: 600px)').matches) canvas.width = boxes.width = canvas.height * 2;
  let eraseMode = false;
  let opened = null;  // the opened image's pixels while it is shown instead of the canvas
  let shown = null;  // the reading on screen

  // --- The switch ----------------------------------------------------------------------------

  const sections = { digit: ['digit-drawing', 'digit-result'], number: ['number-drawing', 'number-result'] };
  const modeButtons = { digit: document.getElementById('read-digit'), number: document.getElementById('read-number') };

  function setMode(mode) {
    document.body.dataset.mode = mode;
    for (const [name, ids] of Object.entries(sections)) {
      modeButtons[name].setAttribute('aria-pressed', String(name === mode));
      for (const id of ids) document.getElementById(id).hidden = name !== mode;
    }
    document.getElementById('title').textContent = mode === 'number' ? 'Write a number' : 'Draw a digit';
  }
  modeButtons.digit.addEventListener('click', () => setMode('digit'));
  modeButtons.number.addEventListener('click', () => setMode('number'));

  // --- Writing -------------------------------------------------------------------------------

  function pointAt(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: ((event.clientX - rect.left) / rect.width) * canvas.width, y: ((event.clientY - rect.top) / rect.height) * canvas.height };
  }

  function line(from, to, erase) {
    ink.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    Object.assign(ink, { lineWidth: erase ? ERASER : PEN, lineCap: 'round', lineJoin: 'round', strokeStyle: '#111' });
    ink.beginPath();
    ink.moveTo(from.x, from.y);
    ink.lineTo(to.x, to.y);
    ink.stroke();
  }

  let stroke = null;  // {erase, last} while a button or finger is down
  canvas.addEventListener('pointerdown', (event) => {
    if (event.button !== 0 && event.button !== 2) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    stroke = { erase: event.button === 2 || eraseMode, last: pointAt(event) };
    line(stroke.last, stroke.last, stroke.erase);
    numberLine.dataset.state = 'busy';
  });
  canvas.addEventListener('pointermove', (event) => {
    if (stroke === null) return;
    const point = pointAt(event);
    line(stroke.last, point, stroke.erase);
    stroke.last = point;
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    canvas.addEventListener(type, () => {
      if (stroke === null) return;
      stroke = null;
      changed();  // read once a stroke is done: a number takes several batches of the model
    });
  }
  canvas.addEventListener('contextmenu', (event) => event.preventDefault());

  function setEraseMode(on) {
    eraseMode = on;
    penButton.setAttribute('aria-pressed', String(!on));
    eraseButton.setAttribute('aria-pressed', String(on));
    canvas.classList.toggle('erasing', on);
  }
  penButton.addEventListener('click', () => setEraseMode(false));
  eraseButton.addEventListener('click', () => setEraseMode(true));
  document.getElementById('number-clear').addEventListener('click', () => {
    ink.clearRect(0, 0, canvas.width, canvas.height);
    showOpened(null);
    numberLine.dataset.source = 'canvas';
    changed();
  });

  // --- Opening an image ----------------------------------------------------------------------

  function showOpened(pixels) {
    opened = pixels;
    canvas.hidden = pixels !== null;
    photo.hidden = pixels === null;
    const size = pixels || canvas;
    Object.assign(boxes, { width: size.width, height: size.height });
    if (pixels) {
      Object.assign(photo, { width: pixels.width, height: pixels.height });
      photo.getContext('2d').putImageData(pixels, 0, 0);
    }
  }

  fileInput.addEventListener('change', async () => {
    const [file] = fileInput.files;
    fileInput.value = '';  // the same file chosen again is read again
    if (!file) return;
    numberLine.dataset.state = 'busy';
    try {
      showOpened(await MnistNumbers.readImageFile(file));
      numberLine.dataset.source = file.name;  // what the reading is of: an image's name, or 'canvas'
      changed();
    } catch (error) {
      numberLine.dataset.source = file.name;
      showError(error.message);
    }
  });

  // --- Reading -------------------------------------------------------------------------------

  // One reading at a time; strokes made meanwhile are folded into the next one (as grid.js does).
  let busy = false;
  let pending = false;

  function changed() {
    pending = true;
    numberLine.dataset.state = 'busy';  // 'done' once the reading shown matches the drawing
    if (!busy) requestAnimationFrame(runReading);
  }

  async function runReading() {
    if (busy || !pending) return;
    busy = true;
    pending = false;
    try {
      show(await MnistNumbers.readNumber(opened || ink.getImageData(0, 0, canvas.width, canvas.height)));
    } catch (error) {
      showError(error.message);
    } finally {
      busy = false;
      if (pending) requestAnimationFrame(runReading);
      else numberLine.dataset.state = 'done';
    }
  }

  function showError(text) {
    show(null, text);
    numberLine.dataset.state = 'done';
  }

  function show(reading, note = null) {
    shown = reading;
    numberLine.dataset.number = reading ? reading.number : '';
    numberLine.dataset.unsure = String(Boolean(reading && reading.unsure));
    numberLine.replaceChildren(...(reading ? reading.digits : []).map((digit, i) => Object.assign(
      document.createElement('span'), {
        className: digit.unsure ? 'unsure' : '', textContent: String(digit.digit),
        title: `${MnistNumbers.ordinal(i + 1)} digit: ${digit.message}`,
      })));
    message.textContent = note || (reading ? reading.message
      : opened ? 'No number found in this image.' : 'Write a number on the canvas.');
    message.classList.toggle('error', Boolean(note));
    drawBoxes(reading);
    digitList.replaceChildren(...(reading ? reading.digits : []).map(digitItem));
  }

  // A box over each digit, numbered, blue when sure and red in doubt.
  function drawBoxes(reading) {
    const context = boxes.getContext('2d');
    context.clearRect(0, 0, boxes.width, boxes.height);
    const scale = boxes.width / boxes.getBoundingClientRect().width || 1;  // canvas pixels per CSS pixel
    (reading ? reading.digits : []).forEach(({ box: [x0, y0, x1, y1], unsure }, i) => {
      context.strokeStyle = context.fillStyle = unsure ? DOUBT : SURE;
      context.lineWidth = 2 * scale;
      context.strokeRect(x0, y0, x1 - x0, y1 - y0);
      context.font = `bold ${Math.round(14 * scale)}px system-ui, sans-serif`;
      context.fillText(String(i + 1), x0 + 3 * scale, Math.max(y0 - 4 * scale, 14 * scale));
    });
    boxes.dataset.count = String(reading ? reading.digits.length : 0);
  }

  // One digit as the model sees it, its place, and what it reads as (or the doubt).
  function digitItem(digit, i) {
    const item = document.createElement('li');
    item.classList.toggle('unsure', digit.unsure);
    const view = Object.assign(document.createElement('canvas'), { width: 28, height: 28 });
    const image = view.getContext('2d').createImageData(28, 28);
    digit.pixels.forEach((v, p) => image.data.set([v * 255, v * 255, v * 255, 255], p * 4));
    view.getContext('2d').putImageData(image, 0, 0);
    const top = digit.probabilities[digit.digit];
    const words = digit.notADigit ? 'not a digit?' : digit.unsure ? `${digit.topTwo[0]} or ${digit.topTwo[1]}?`
      : `${digit.digit} (${(top * 100).toFixed(0)}%)`;
    item.append(view, Object.assign(document.createElement('span'), { textContent: `${MnistNumbers.ordinal(i + 1)}: ${words}` }));
    return item;
  }

  setMode('digit');

  // For tests and the curious: the same reading the page shows, as plain values.
  const plain = (reading) => reading && {
    number: reading.number, unsure: reading.unsure, message: reading.message,
    digits: reading.digits.map((d) => ({
      digit: d.digit, box: d.box, unsure: d.unsure, notADigit: d.notADigit, topTwo: d.topTwo,
      probabilities: Array.from(d.probabilities), pixels: Array.from(d.pixels),
    })),
  };
  Object.assign(window.mnistStudio, {
    setMode,
    // image: {width, height, data: RGBA bytes}
    readNumber: async (image) => plain(await MnistNumbers.readNumber({ ...image, data: Uint8ClampedArray.from(image.data) })),
    numberShown: () => plain(shown),
    numberCanvas: () => ({ width: canvas.width, height: canvas.height, data: Array.from(ink.getImageData(0, 0, canvas.width, canvas.height).data) }),
  });
})();
