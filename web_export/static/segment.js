// Find the digits of a written number: its ink cut into parts, one per digit, left to right. A
// port of training/data/segment.py, the same steps and constants (lengths in digit heights):
// 1. pieces: connected ink; a small piece close to a larger one joins it, a light one far from all
//    is a speck; 2. joins: pieces overlapping horizontally, or a short one close beside another,
//    may be one digit written in two strokes;
// 3. cuts: a part wider than a digit is divided along the cut paths (cuts.js) whose stretches read
//    best together; once read, second_look.py's second look (secondLook). Scores come from `score`,
//    an async function of ink planes (numbers.js reads them with the model).
'use strict';

window.MnistSegment = (() => {
  const MAX_PARTS = 12;
  const PIECES_PER_PART = 4;
  const SPECK_SHARE = 0.03;
  const SMALL = 0.3, CLOSE = 0.25, SHORT = 0.6;
  const ROOMY = 1.0;
  // Once read (secondLook, as second_look.py): a doubted part wider than MAYBE_ROOMY is divided, each
  // stretch reading at least SURE_RECUT; one read less surely than NECK_SURE, at least NECK_FROM
  // wide, is cut where a path crosses at most NECK of ink between two sides SHORT high that read
  // as digits, together as well as the whole less NECK_TIE, less NECK_SLOPE per height crossed.
  const MAYBE_ROOMY = 0.6, SURE_RECUT = 0.5;
  const NECK = 0.1, NECK_FROM = 0.4, NECK_TIE = 0.4, NECK_SLOPE = 6.0, NECK_SURE = 0.5;
  const NARROWEST = 0.12, WIDEST = 1.5, WIDTH_FROM = 0.9, WIDTH_SLOPE = 4.0, CUT_SPACING = 0.15;
  const STRETCH_WIDEST = 1.2;  // no stretch but the whole part is read wider than this
  const NARROWEST_STRAIGHT = 0.35;  // a stretch beside a vertical cut is at least this wide
  // A sure reading at the doubt rule's distance threshold scores this (numbers.js).
  const SURE_DIGIT = Math.exp(-1.0);
  const OVERLAP = 0.5;
  const SHARED = 0.1;  // a cut part's digits are read again reaching this far past their cut paths
  const { plane, components, roundHalfEven } = MnistPreprocess;

  // A part: {box: [x0, y0, x1, y1] (x1, y1 exclusive), ink: plane of the box's size}.
  const widthOf = (part) => part.box[2] - part.box[0];
  const heightOf = (part) => part.box[3] - part.box[1];

  class TooManyParts extends Error {
    constructor(found, limit) {
      super(`Too many parts to read as a number: ${found} (at most ${limit} digits).`);
    }
  }

  // The digits of a number, left to right, as parts of `ink`; [] when there is no ink.
  async function findParts(ink, score, maxParts = MAX_PARTS) {
    const { labels, boxes, masses } = pieces(ink);
    if (masses.length === 0) return [];
    const height = digitHeight(boxes, masses);
    const groupList = groups(boxes, masses, height);
    if (groupList.length > PIECES_PER_PART * maxParts) throw new TooManyParts(groupList.length, maxParts);
    const parts = groupList.map((members) => piece(ink, labels, boxes, members));
    const found = await cutAll(await join(parts, height, score), height, score, maxParts);
    // A stable sort by the middle, as Python's sorted().
    return found.map((part, i) => [part, i])
      .sort(([a, i], [b, j]) => a.box[0] + a.box[2] - b.box[0] - b.box[2] || i - j).map(([part]) => part);
  }

  // --- Pieces -------------------------------------------------------------------------------

  function pieces(ink) {
    const { labels, count } = components(ink.data, ink.h, ink.w);
    const boxes = Array.from({ length: count }, () => [Infinity, Infinity, -1, -1]);
    const masses = new Float64Array(count);
    for (let i = 0; i < labels.length; i++) {  // row by row, so that the sums are numpy's bincount's
      const k = labels[i];
      if (k < 0) continue;
      const y = Math.floor(i / ink.w), x = i % ink.w, box = boxes[k];
      box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x + 1); box[3] = Math.max(box[3], y + 1);
      masses[k] += ink.data[i];
    }
    return { labels, boxes, masses: Array.from(masses) };
  }

  function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  // The median height of the tall pieces among those with a tenth of the heaviest one's ink.
  function digitHeight(boxes, masses) {
    const heaviest = Math.max(...masses);
    const heights = boxes.filter((_, k) => masses[k] >= 0.1 * heaviest).map((box) => box[3] - box[1]);
    const tallest = Math.max(...heights);
    return median(heights.filter((h) => h >= 0.5 * tallest));
  }

  // The pieces as lists of components: each large one with the small ones close to it.
  function groups(boxes, masses, height) {
    const small = boxes.map((b) => Math.max(b[2] - b[0], b[3] - b[1]) < SMALL * height);
    const large = boxes.map((_, k) => k).filter((k) => !small[k]);
    if (large.length === 0) return boxes.map((_, k) => [k]);
    const byFirst = new Map(large.map((k) => [k, [k]]));
    const heaviest = Math.max(...masses);
    small.forEach((isSmall, k) => {
      if (!isSmall) return;
      const gaps = large.map((other) => gap(boxes[k], boxes[other]));
      const nearest = gaps.indexOf(Math.min(...gaps));
      if (gaps[nearest] <= CLOSE * height) byFirst.get(large[nearest]).push(k);
      else if (masses[k] >= SPECK_SHARE * heaviest) byFirst.set(k, [k]);
    });
    return [...byFirst.values()];
  }

  function gap(box, other) {
    const dx = Math.max(other[0] - box[2], box[0] - other[2]);
    const dy = Math.max(other[1] - box[3], box[1] - other[3]);
    return Math.max(dx, dy, 0);
  }

  function piece(ink, labels, boxes, members) {
    const box = [0, 1].map((c) => Math.min(...members.map((k) => boxes[k][c])))
      .concat([2, 3].map((c) => Math.max(...members.map((k) => boxes[k][c]))));
    const inside = new Set(members);
    const out = plane(box[3] - box[1], box[2] - box[0]);
    for (let y = 0; y < out.h; y++) {
      for (let x = 0; x < out.w; x++) {
        const i = (box[1] + y) * ink.w + box[0] + x;
        if (inside.has(labels[i])) out.data[y * out.w + x] = ink.data[i];
      }
    }
    return { box, ink: out };
  }

  // --- Joins: strokes of one digit, overlapping or close beside each other -------------------

  // Two parts that may be one digit's strokes: overlapping horizontally, or a short one close by.
  function mayBeOne(a, b, height) {
    const close = gap(a.box, b.box) <= CLOSE * height;
    return overlap(a, b) >= OVERLAP || (Math.min(heightOf(a), heightOf(b)) < SHORT * height && close);
  }

  function overlap(a, b) {
    const shared = Math.min(a.box[2], b.box[2]) - Math.max(a.box[0], b.box[0]);
    return Math.max(shared, 0) / Math.min(widthOf(a), widthOf(b));
  }

  async function join(parts, height, score) {
    const refused = new Set();
    const key = (a, b) => `${a.box}|${b.box}`;
    for (;;) {
      const pairs = [];
      parts.forEach((a, i) => parts.slice(i + 1).forEach((b) => {
        if (mayBeOne(a, b, height) && !refused.has(key(a, b))) pairs.push([a, b]);
      }));
      if (pairs.length === 0) return parts;
      const joined = pairs.map(([a, b]) => union(a, b));
      const scores = await score([...pairs.flatMap(([a, b]) => [a.ink, b.ink]), ...joined.map((u) => u.ink)]);
      // A short stroke over another is one digit; two tall ones, or a short stroke beside another,
      // are when they read at least as well together as the weaker alone.
      const accepted = pairs.map(([a, b], i) => (Math.min(heightOf(a), heightOf(b)) < SHORT * height
        && overlap(a, b) >= OVERLAP) || scores[pairs.length * 2 + i] >= Math.min(scores[2 * i], scores[2 * i + 1]));
      const order = pairs.map((_, i) => i).sort((i, j) => overlap(...pairs[j]) - overlap(...pairs[i]) || i - j);
      const used = [];
      for (const i of order) {
        const [a, b] = pairs[i];
        if (!accepted[i]) refused.add(key(a, b));
        else if (!used.includes(a) && !used.includes(b)) {
          used.push(a, b);
          parts = [...parts.filter((part) => part !== a && part !== b), joined[i]];
        }
      }
      if (used.length === 0) return parts;
    }
  }

  function union(a, b) {
    const box = [Math.min(a.box[0], b.box[0]), Math.min(a.box[1], b.box[1]),
      Math.max(a.box[2], b.box[2]), Math.max(a.box[3], b.box[3])];
    const ink = plane(box[3] - box[1], box[2] - box[0]);
    for (const part of [a, b]) {
      for (let y = 0; y < part.ink.h; y++) {
        for (let x = 0; x < part.ink.w; x++) {
          const i = (part.box[1] - box[1] + y) * ink.w + part.box[0] - box[0] + x;
          ink.data[i] = Math.max(ink.data[i], part.ink.data[y * part.ink.w + x]);
        }
      }
    }
    return { box, ink };
  }

  // --- Cuts: digits that touch or overlap ----------------------------------------------------

  // `parts` (from findParts(ink, score)) once read (`doubted`: read in doubt; `sureness`: each one's
  // score as read, scored here when null), those that hold two touching digits cut; left to right.
  async function secondLook(ink, parts, doubted, score, maxParts = MAX_PARTS, sureness = null) {
    const { boxes, masses } = pieces(ink);
    const height = digitHeight(boxes, masses);
    const tried = parts.map((part, i) => doubted[i] && MAYBE_ROOMY * height < widthOf(part)
      && widthOf(part) <= ROOMY * height);
    let done = tried.includes(true) ? await cutAll(parts, height, score, maxParts, tried, SURE_RECUT) : parts;
    const known = new Map(sureness ? parts.map((part, i) => [part, sureness[i]]) : []);
    done = await cutAtNecks(done, height, score, known);
    if (done.length > maxParts) throw new TooManyParts(done.length, maxParts);
    return done === parts ? parts : done.map((part, i) => [part, i])
      .sort(([a, i], [b, j]) => a.box[0] + a.box[2] - b.box[0] - b.box[2] || i - j).map(([part]) => part);
  }

  // Each part that narrows to a neck between two sides that read as digits, cut there (`known`:
  // the parts' scores as read, where known).
  async function cutAtNecks(parts, height, score, known) {
    const tried = parts.filter((part) => widthOf(part) >= NECK_FROM * height && (known.get(part) ?? 0) < NECK_SURE);
    const necks = new Map(tried.map((part) => [part, neck(part, height)]).filter(([, found]) => found));
    if (necks.size === 0) return parts;
    const unknown = [...necks.keys()].filter((part) => !known.has(part));
    const sides = [...necks.values()].flatMap(({ left, right }) => [left, right]);
    const scores = (await score([...unknown.map((part) => part.ink), ...sides])).map((v) => Math.log(Math.max(v, 1e-6)));
    const whole = (part) => (known.has(part) ? Math.log(Math.max(known.get(part), 1e-6)) : scores[unknown.indexOf(part)]);
    let next = unknown.length;
    const done = [];
    for (const part of parts) {
      const found = necks.get(part);
      if (!found) { done.push(part); continue; }
      const left = scores[next++], right = scores[next++];
      const margin = NECK_TIE - NECK_SLOPE * found.crossed / height;
      const cut = whole(part) < Math.log(NECK_SURE) && Math.min(left, right) >= Math.log(SURE_DIGIT)
        && left + right >= whole(part) - margin;
      if (cut) done.push(MnistCuts.tight(part, found.left), MnistCuts.tight(part, found.right)); else done.push(part);
    }
    return done;
  }

  // The cut path through `part` crossing the least ink, at most NECK digit heights of it, that
  // leaves each side at least SHORT high: {crossed, left, right} (sides at the part's size), or null.
  function neck(part, height) {
    const { w, data } = part.ink;
    const paths = MnistCuts.boundaries(part.ink, Math.max(1, roundHalfEven(NARROWEST * height)),
      Math.max(2.0, CUT_SPACING * height)).edges.slice(1, -1);
    const crossed = paths.map((path) => path.reduce((sum, x, y) => sum + data[y * w + x], 0));
    const order = crossed.map((value, i) => [value, i]).sort(([a, i], [b, j]) => a - b || i - j);
    for (const [value, i] of order) {
      if (value > NECK * height) return null;
      const side = (left) => MnistCuts.withoutSlivers(part.ink,
        data.map((v, k) => ((k % w < paths[i][Math.floor(k / w)]) === left ? v : 0)));
      const left = side(true), right = side(false);
      if (rowsOf(left) >= SHORT * height && rowsOf(right) >= SHORT * height) return { crossed: value, left, right };
    }
    return null;
  }

  function rowsOf(ink) {  // rows from the top of a plane's ink to its bottom (0 without ink)
    const top = ink.data.findIndex((v) => v > 0), bottom = ink.data.findLastIndex((v) => v > 0);
    return top < 0 ? 0 : Math.floor(bottom / ink.w) + 1 - Math.floor(top / ink.w);
  }

  // Each part divided into the digits it holds, all stretches of all parts read in one call; only
  // the `tried` parts (by default those wider than ROOMY digit heights).
  async function cutAll(parts, height, score, maxParts, tried = null, surePiece = SURE_DIGIT) {
    if (parts.length > maxParts) throw new TooManyParts(parts.length, maxParts);
    // A part no wider than a digit is one: most digits are never cut, nor read before they are.
    const cut = tried || parts.map((part) => widthOf(part) > ROOMY * height);
    const plans = parts.map((part, i) => (cut[i] ? plan(part, height) : null));
    const batch = plans.flatMap((found) => (found ? found.stretches.map((stretch) => stretch.ink) : []));
    const scores = batch.length ? await score(batch) : [];
    const reach = roundHalfEven(SHARED * height);
    let next = 0;
    const chains = parts.map((part, i) => {
      const found = plans[i];
      if (found === null) return null;
      const read = found.stretches.map(() => scores[next++]);
      // A part no wider than one digit may be (a letter, say) is cut only into stretches read surely
      // as digits; a wider one holds several marks, one in doubt no reason to read all as one.
      const sure = widthOf(part) <= WIDEST * height;
      const gains = found.stretches.map((stretch, k) => gain(read[k], stretch, height,
        stretch.right - stretch.left === found.ends, sure ? surePiece : 0.0));
      const chain = MnistCuts.bestChain(found.ends, found.stretches.map((s) => [s.left, s.right]), gains);
      const wide = (s) => (chain.length > 1 ? MnistCuts.widened(part.ink, found.edges, s.left, s.right, reach) : null);
      return chain.map((k) => ({ ink: found.stretches[k].ink, value: read[k], wide: wide(found.stretches[k]) }));
    });
    // Where digits overlap, a path cuts through one: each side keeps the ink past it if it reads better.
    const wider = chains.flatMap((chain) => (chain ? chain.filter((s) => s.wide).map((s) => s.wide) : []));
    const widerScores = wider.length ? await score(wider) : [];
    let nextWide = 0;
    const done = [];
    parts.forEach((part, i) => {
      if (chains[i] === null) { done.push(part); return; }
      chains[i].forEach(({ ink, value, wide }) => {
        done.push(MnistCuts.tight(part, wide && widerScores[nextWide++] > value ? wide : ink));
      });
      if (done.length > maxParts) throw new TooManyParts(done.length, maxParts);
    });
    return done;
  }

  // The last boundary's index and the stretches of `part` that may each be one digit.
  function plan(part, height) {
    const { edges, vertical } = MnistCuts.boundaries(part.ink, Math.max(1, roundHalfEven(NARROWEST * height)),
      Math.max(2.0, CUT_SPACING * height), true);
    return { ends: edges.length - 1, edges, stretches: MnistCuts.stretches(part.ink, edges, NARROWEST * height, STRETCH_WIDEST * height, vertical, NARROWEST_STRAIGHT * height, SHORT * height) };
  }

  // What a stretch adds to its chain: the log of its score, less WIDTH_SLOPE per digit height it
  // is wider than WIDTH_FROM; a low stroke is no digit of its own, and a cut counts only when each
  // stretch scores at least `sure` (a letter cut into strokes would hide the mark).
  function gain(value, stretch, height, whole, sure) {
    let top = stretch.ink.h, bottom = -1, left = stretch.ink.w, right = -1;
    stretch.ink.data.forEach((v, i) => {
      if (v === 0) return;
      const y = Math.floor(i / stretch.ink.w), x = i % stretch.ink.w;
      top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
    });
    if (bottom + 1 - top < SHORT * height) return whole ? 0.0 : -Infinity;
    if (!whole && value < sure) return -Infinity;
    const wider = Math.max((right + 1 - left) / height - WIDTH_FROM, 0.0);
    return Math.log(Math.max(value, 1e-6)) - WIDTH_SLOPE * wider;
  }

  return { MAX_PARTS, SURE_DIGIT, TooManyParts, findParts, secondLook };
})();
