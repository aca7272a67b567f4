// Read a whole number: its digits found (segment.js), each read as one digit is (the same
// preprocessing, model, five views and doubt rule). A port of training/reading/numbers.py, and of
// the part of training/data/ink.py's ink_map that reads an image's pixels.
'use strict';

window.MnistNumbers = (() => {
  const MAX_SIDE = 1024;  // larger images are shrunk first, as Python does
  const MAX_PIXELS = 40e6;
  const MAX_FILE_BYTES = 50e6;
  // How fast a part's score falls with its distance from the digits, in doubt thresholds: at the
  // threshold a sure reading scores SURE_DIGIT, below which segment.js never cuts a part.
  const FAR = -Math.log(MnistSegment.SURE_DIGIT);
  // A drawing whose ink scores this much read whole is one digit, neither cut nor looked at again
  // (numbers.py's ONE_DIGIT): a wide 0 or 3 also reads well in two halves.
  const ONE_DIGIT = 0.6;
  const ONE_DIGIT_WIDEST = 2.0;  // no digit is this many times as wide as high
  // Ink cut with no blank column between its parts is read whole again when its log score is at
  // least its least sure part's less this (numbers.py's ONE_PIECE_TIE).
  const ONE_PIECE_TIE = 0.05;
  const { plane, border, quantile, resize, inkMap, inkToMnist, roundHalfEven } = MnistPreprocess;
  const f = Math.fround;

  // The ink of an image ({width, height, data: RGBA bytes}, an ImageData) as a plane, ink 1.0; null
  // when there is none. As ink_map: a transparent background means alpha is the ink; otherwise the
  // grey (a grey image's own value, as Pillow reads an "L" file) against the border's median.
  function inkOf(image) {
    const { width, height, data } = image;
    const count = width * height;
    const channel = (c) => plane(height, width, Float32Array.from({ length: count }, (_, i) => data[4 * i + c] / 255));
    let grey = true, opaque = true;
    for (let i = 0; i < count && (grey || opaque); i++) {
      if (data[4 * i] !== data[4 * i + 1] || data[4 * i] !== data[4 * i + 2]) grey = false;
      if (data[4 * i + 3] !== 255) opaque = false;
    }
    let channels = (grey ? [0] : [0, 1, 2]).concat(opaque ? [] : [3]).map(channel);
    if (Math.max(width, height) > MAX_SIDE) {
      const factor = MAX_SIDE / Math.max(width, height);
      const w = Math.max(1, roundHalfEven(width * factor)), h = Math.max(1, roundHalfEven(height * factor));
      channels = channels.map((p) => resize(p, w, h, 'box'));
    }
    const alpha = opaque ? null : channels[channels.length - 1];
    if (alpha && quantile(border(alpha), 0.5) < 0.5) {
      const top = alpha.data.reduce((a, v) => Math.max(a, v), 0);  // (a spread of every pixel overflows the stack)
      return top > 0 ? plane(alpha.h, alpha.w, alpha.data.map((v) => v / top)) : null;
    }
    if (grey) return inkMap(channels[0]);
    const [r, g, b] = channels;
    const [wr, wg, wb] = [0.299, 0.587, 0.114].map(f);
    return inkMap(plane(r.h, r.w, r.data.map((v, i) => f(f(f(v * wr) + f(g.data[i] * wg)) + f(b.data[i] * wb)))));
  }

  // Each ink plane's 28×28 pixels (null: too little ink), made once: the whole drawing is scored
  // before it is read, and a part found is read after it was scored.
  const preparedPixels = new WeakMap();
  function prepared(ink) {
    if (!preparedPixels.has(ink)) preparedPixels.set(ink, inkToMnist(ink));
    return preparedPixels.get(ink);
  }

  // How surely each ink plane is one digit: the top probability, times how near it lies to the
  // digits the model knows (the doubt rule's distance: e^-FAR at its threshold); 0 without a digit.
  // Each is read alone, without the shifted views an answer averages over, as numbers.py scores.
  async function score(inks) {
    const images = inks.map(prepared);
    const results = await MnistModel.assessBatch(images.map((pixels) => pixels || new Float32Array(784)),
      { shifted: false });
    return results.map((result, i) => (images[i] ? sureness(result) : 0));
  }

  // A reading's score as `score` gives it, from its probabilities and the doubt rule's distance.
  function sureness({ probabilities, distance }) {
    const rule = window.MODEL_DATA.exportInfo.doubt;
    const near = rule && distance !== null ? Math.exp(-FAR * Math.max(0, distance) / rule.max_distance) : 1;
    return Math.max(...probabilities) * near;
  }

  // The number in an image: {number, unsure, message, digits: [{digit, probabilities, box, unsure,
  // notADigit, topTwo, pixels}]}, boxes in the image's pixels; null when there is no ink to read.
  // Throws an Error with a one-line message for images too large or with too many parts.
  async function readNumber(image, maxDigits = MnistSegment.MAX_PARTS) {
    const { width, height } = image;
    if (width * height > MAX_PIXELS) {
      throw new Error(`The image is too large: ${width}×${height} pixels (the limit is ${MAX_PIXELS / 1e6} million).`);
    }
    const ink = inkOf(image);
    if (!ink) return null;
    let parts = await MnistSegment.findParts(ink, score, maxDigits);
    const whole = parts.length > 0 ? asOne(ink, parts) : null;
    const wholeScore = whole !== null && whole.ink.w <= ONE_DIGIT_WIDEST * whole.ink.h
      ? (await score([ink]))[0] : null;
    const oneDigit = wholeScore !== null && wholeScore >= ONE_DIGIT;
    if (oneDigit) parts = [whole];
    let digits = await readParts(ink, parts, width, height, parts.length === 1);
    if (digits === null) return null;
    if (!oneDigit) {
      // A part as narrow as one digit may be two that touch (read in doubt, or narrowing to a
      // neck): tried in pieces, read again.
      const readOf = (part) => digits.find((d) => d.part === part);
      const doubted = parts.map((part) => Boolean(readOf(part)?.unsure));
      const again = await MnistSegment.secondLook(ink, parts, doubted, score, maxDigits,
        parts.map((part) => readOf(part)?.sureness ?? 0));
      if (again.length !== parts.length) {
        // The parts the second look left as they were (the same objects) keep their reading.
        const fresh = await readParts(ink, again.filter((part) => !readOf(part)), width, height, false);
        const read = [...digits, ...(fresh ?? [])];
        digits = again.map((part) => read.find((d) => d.part === part)).filter(Boolean);
      }
      // Ink with no blank column across it that reads as one digit about as surely as its least
      // sure part does (as two strokes are joined): a wide digit whose halves read as digits too.
      if (wholeScore !== null && digits.length > 1 && unbroken(digits.map((d) => d.part))
          && wholeScore >= Math.exp(-ONE_PIECE_TIE) * Math.min(...await score(digits.map((d) => d.part.ink)))) {
        digits = await readParts(ink, [whole], width, height, true);
      }
    }
    digits.forEach((d) => { delete d.part; delete d.sureness; });
    const number = digits.map((d) => String(d.digit)).join('');
    const doubts = digits.map((d, i) => d.unsure && doubt(i + 1, d)).filter(Boolean);
    const message = doubts.length === 0 ? `Predicted number: ${number}`
      : doubts.join('; ').replace(/^./, (c) => c.toUpperCase());
    return { number, unsure: doubts.length > 0, message, digits };
  }

  // All the parts found as one: their boxes' union, and the ink within it.
  function asOne(ink, parts) {
    const [x0, y0] = [0, 1].map((k) => Math.min(...parts.map((part) => part.box[k])));
    const [x1, y1] = [2, 3].map((k) => Math.max(...parts.map((part) => part.box[k])));
    const out = plane(y1 - y0, x1 - x0);
    for (let y = y0; y < y1; y++) out.data.set(ink.data.subarray(y * ink.w + x0, y * ink.w + x1), (y - y0) * out.w);
    return { box: [x0, y0, x1, y1], ink: out };
  }

  // No blank column runs between the parts (left to right): they were cut from one piece of ink.
  function unbroken(parts) {
    return parts.every((part, i) => i === 0 || part.box[0] <= parts[i - 1].box[2]);
  }

  // Each part read as one digit (`whole`: the one part is all the ink, read exactly as a single
  // digit is), with the part it read and how surely it is one (as `score` scores it; a mark too
  // faint to read is no digit of the number); null when none is left.
  async function readParts(ink, parts, width, height, whole) {
    const images = [], boxes = [], read = [];
    for (const part of parts) {
      const pixels = prepared(whole ? ink : part.ink);
      if (!pixels) continue;
      images.push(pixels);
      boxes.push(scaled(part.box, width / ink.w, height / ink.h, width, height));
      read.push(part);
    }
    if (images.length === 0) return null;
    const results = await MnistModel.assessBatch(images);
    return results.map(({ probabilities, distance }, i) => ({
      ...MnistModel.verdict(probabilities, distance), probabilities, box: boxes[i], pixels: images[i], part: read[i],
      sureness: sureness({ probabilities, distance }),
    }));
  }

  // 1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd".
  function ordinal(n) {
    const suffix = n % 100 >= 10 && n % 100 <= 20 ? 'th' : { 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th';
    return `${n}${suffix}`;
  }

  function doubt(position, digit) {
    if (digit.notADigit) return `the ${ordinal(position)} part does not look like a digit`;
    return `not sure about the ${ordinal(position)} digit — ${digit.topTwo[0]} or ${digit.topTwo[1]}`;
  }

  // A box in the ink map's pixels → the image's (the ink map of a large image is smaller).
  function scaled([x0, y0, x1, y1], sx, sy, width, height) {
    return [Math.floor(x0 * sx), Math.floor(y0 * sy), Math.min(width, Math.ceil(x1 * sx)), Math.min(height, Math.ceil(y1 * sy))];
  }

  // An image file's pixels ({width, height, data}), decoded by the browser, upright as the camera
  // held it; nothing leaves the page. Throws an Error with a one-line message when it cannot be read.
  async function readImageFile(file) {
    if (file.size === 0) throw new Error(`${file.name} is empty (0 bytes), not an image.`);
    if (file.size > MAX_FILE_BYTES) throw new Error(`${file.name} is too large (${Math.round(file.size / 1e6)} MB); the limit is ${MAX_FILE_BYTES / 1e6} MB.`);
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    } catch {
      throw new Error(`${file.name} is not a readable image.`);
    }
    try {
      if (bitmap.width * bitmap.height > MAX_PIXELS) {
        throw new Error(`${file.name} is too large: ${bitmap.width}×${bitmap.height} pixels (the limit is ${MAX_PIXELS / 1e6} million).`);
      }
      const canvas = document.createElement('canvas');
      Object.assign(canvas, { width: bitmap.width, height: bitmap.height });
      const context = canvas.getContext('2d', { willReadFrequently: true });
      context.drawImage(bitmap, 0, 0);
      return context.getImageData(0, 0, bitmap.width, bitmap.height);
    } finally {
      bitmap.close();
    }
  }

  return { readNumber, readImageFile, ordinal };
})();
