// Where two touching digits part: paths from top to bottom through the least ink. A port of
// training/data/cuts.py: each path runs down one row at a time, stepping at most one column left
// or right, and costs the ink it crosses plus a little per sideways step.
'use strict';

window.MnistCuts = (() => {
  const STEP_COST = 0.1;  // what a sideways step costs, in ink units (a fully inked pixel costs 1)
  const SLIVER = 0.1;  // pieces of a side lighter than this share of its heaviest are the neighbour's

  // Up to `count` cheapest paths through `ink` (a plane), each a column per row, ending at least
  // `spacing` columns apart and leaving both sides at least `narrowest` columns wide.
  function cutPaths(ink, narrowest, spacing, count) {
    const { h, w } = ink;
    if (w < 2 * narrowest) return [];
    // Outside the band a side would be too narrow: the paths never go there.
    const cost = (y, x) => (x >= narrowest && x < w - narrowest + 1 ? ink.data[y * w + x] : Infinity);
    let total = Float64Array.from({ length: w }, (_, x) => cost(0, x));
    const moves = new Int8Array(h * w);
    for (let y = 1; y < h; y++) {
      const next = new Float64Array(w);
      for (let x = 0; x < w; x++) {
        // The first of the cheapest, as numpy's argmin over [left + step, centre, right + step].
        const options = [x > 0 ? total[x - 1] + STEP_COST : Infinity, total[x],
          x < w - 1 ? total[x + 1] + STEP_COST : Infinity];
        let best = 0;
        if (options[1] < options[best]) best = 1;
        if (options[2] < options[best]) best = 2;
        moves[y * w + x] = best - 1;
        next[x] = options[best] + cost(y, x);
      }
      total = next;
    }
    const ends = [];
    for (let x = narrowest; x < w - narrowest + 1; x++) ends.push(x);
    // The cheapest first; among equals (blank columns) the nearest the middle; then left first.
    ends.sort((a, b) => total[a] - total[b] || Math.abs(a - w / 2) - Math.abs(b - w / 2) || a - b);
    const chosen = [];
    for (const end of ends) {
      if (chosen.every((other) => Math.abs(end - other) >= spacing)) chosen.push(end);
      if (chosen.length === count) break;
    }
    return chosen.map((end) => trace(moves, h, w, end));
  }

  function trace(moves, h, w, end) {
    const path = new Int32Array(h);
    let column = end;
    for (let y = h - 1; y >= 0; y--) {
      path[y] = column;
      column += moves[y * w + column];
    }
    return path;
  }

  // The ink left of `path` and the ink on or right of it, each at the full size of `ink`, without
  // the slivers the path cut off the other digit's strokes.
  function splitAt(ink, path) {
    const left = ink.data.map((v, i) => (i % ink.w < path[Math.floor(i / ink.w)] ? v : 0));
    const right = ink.data.map((v, i) => (i % ink.w < path[Math.floor(i / ink.w)] ? 0 : v));
    return [withoutSlivers(ink, left), withoutSlivers(ink, right)];
  }

  function withoutSlivers(ink, side) {
    const { labels, count } = MnistPreprocess.components(side, ink.h, ink.w);
    const masses = new Float64Array(count);
    side.forEach((v, i) => { if (v > 0) masses[labels[i]] += v; });
    const heaviest = Math.max(...masses);
    return MnistPreprocess.plane(ink.h, ink.w, side.map((v, i) => (v > 0 && masses[labels[i]] >= SLIVER * heaviest ? v : 0)));
  }

  return { cutPaths, splitAt };
})();
