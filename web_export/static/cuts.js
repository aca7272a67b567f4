// Where touching digits part: paths from top to bottom through the least ink, and the set of cuts
// whose parts read best together. A port of training/data/cuts.py: each path runs down one row at
// a time, stepping at most one column left or right, and costs the ink it crosses plus a little
// per sideways step; paths are traced from the top and from the bottom, and a part is divided by
// the chain of them whose stretches read best (dynamic programming, left to right).
'use strict';

window.MnistCuts = (() => {
  const STEP_COST = 0.1;  // what a sideways step costs, in ink units (a fully inked pixel costs 1)
  const SLIVER = 0.1;  // pieces of a side lighter than this share of its heaviest are the neighbour's
  const SAME_PATH = 0.75;  // two paths closer than this share of the window width on average are one

  // The cheapest path through `ink` (a plane) ending in each window of `spacing` columns, each a
  // column per row, leaving both sides at least `narrowest` columns wide.
  function cutPaths(ink, narrowest, spacing) {
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
    // Windows as numpy's arange(narrowest, w - narrowest + 1, step) starts them.
    const step = Math.max(1.0, spacing), stop = w - narrowest + 1;
    const ends = [];
    for (let i = 0; i < Math.ceil((stop - narrowest) / step); i++) {
      const start = narrowest + i * step;
      let end = -1;
      for (let x = Math.trunc(start); x < Math.min(Math.trunc(start + step), stop); x++) {
        if (end < 0 || total[x] < total[end]) end = x;
      }
      if (end >= 0 && !ends.includes(end)) ends.push(end);
    }
    return ends.map((end) => trace(moves, h, w, end));
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

  const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length;

  // The part's left edge, the distinct cut paths traced from the bottom and from the top (and, when
  // `straight`, a vertical cut every `spacing` columns), and its right edge, left to right by their
  // mean column: {edges, vertical}, `vertical` saying which are the vertical cuts (a traced path
  // may run straight down too, and is no less a path for it).
  function boundaries(ink, narrowest, spacing, straight = false) {
    const { h, w } = ink;
    const flipped = MnistPreprocess.plane(h, w);
    for (let y = 0; y < h; y++) flipped.data.set(ink.data.subarray((h - 1 - y) * w, (h - y) * w), y * w);
    const down = cutPaths(ink, narrowest, spacing);
    const up = cutPaths(flipped, narrowest, spacing).map((path) => path.slice().reverse());
    const paths = [];
    for (const path of [...down, ...up]) {
      if (paths.every((other) => mean(path.map((c, y) => Math.abs(c - other[y]))) >= SAME_PATH * spacing)) {
        paths.push(path);
      }
    }
    // Where digits overlap, a path bends round one of them and leaves the stroke it went round on
    // the wrong side; a vertical cut gives each digit its own columns, the overlap to neither.
    const traced = paths.length;
    if (straight && w >= 2 * narrowest) {
      const step = Math.max(1.0, spacing), seen = new Set();
      for (let i = 0; narrowest + i * step < w - narrowest + 1; i++) {
        const column = Math.floor(narrowest + i * step);
        if (!seen.has(column)) paths.push(new Int32Array(h).fill(column));
        seen.add(column);
      }
    }
    const order = paths.map((path, i) => [mean(path), i]).sort(([a, i], [b, j]) => a - b || i - j);
    return {
      edges: [new Int32Array(h), ...order.map(([, i]) => paths[i]), new Int32Array(h).fill(w)],
      vertical: [false, ...order.map(([, i]) => i >= traced), false],
    };
  }

  // The ink between each pair of boundaries whose columns are `narrowest` to `widest` apart on
  // average (`narrowestStraight` beside a `vertical` cut, as `boundaries` flags them; slivers of
  // the neighbours removed) and at least `lowest` rows high, that lies on some chain of such
  // stretches from the left edge to the right; and the whole, which is always a candidate:
  // [{left, right, ink}], the ink at the part's full size.
  function stretches(ink, edges, narrowest, widest, vertical = null, narrowestStraight = 0.0, lowest = 0.0) {
    // A vertical cut through a wide digit leaves a stroke that reads surely as a 1.
    vertical = vertical || edges.map(() => false);
    const last = edges.length - 1;
    const sides = [];
    for (let left = 0; left < last; left++) {
      for (let right = left + 1; right <= last; right++) {
        const spread = mean(edges[right].map((c, y) => c - edges[left][y]));
        const whole = left === 0 && right === last;
        const least = vertical[left] || vertical[right] ? Math.max(narrowest, narrowestStraight) : narrowest;
        if (!whole && !(least <= spread && spread <= widest)) continue;
        const inside = ink.data.map((v, i) => {
          const y = Math.floor(i / ink.w), x = i % ink.w;
          return x >= edges[left][y] && x < edges[right][y] ? v : 0;
        });
        // Ink too low already is never read: removing slivers only lowers it.
        if (whole || inkRows(inside, ink.w) >= lowest) sides.push({ left, right, inside });
      }
    }
    const found = [];
    for (const { left, right, inside } of onChains(last, sides)) {  // off every chain: never read
      const side = withoutSlivers(ink, inside);
      const whole = left === 0 && right === last;
      if (side.data.some((v) => v > 0) && (whole || inkRows(side.data, ink.w) >= lowest)) {
        found.push({ left, right, ink: side });
      }
    }
    return onChains(last, found);
  }

  // The links ({left, right}) on some chain from boundary 0 to boundary `last`, in their order.
  function onChains(last, links) {
    const reached = new Set([0]), reaches = new Set([last]);
    for (const { left, right } of [...links].sort((a, b) => a.right - b.right)) {
      if (reached.has(left)) reached.add(right);
    }
    for (const { left, right } of [...links].sort((a, b) => b.left - a.left)) {
      if (reaches.has(right)) reaches.add(left);
    }
    return links.filter(({ left, right }) => reached.has(left) && reaches.has(right));
  }

  // Rows from the top of the ink in `data` (`width` columns) to its bottom (0 without ink).
  function inkRows(data, width) {
    const top = data.findIndex((v) => v > 0), bottom = data.findLastIndex((v) => v > 0);
    return top < 0 ? 0 : Math.floor(bottom / width) + 1 - Math.floor(top / width);
  }

  // The links [left, right] that chain boundary 0 to boundary `ends` with the greatest sum of
  // gains, as indices into `links`, left to right; ties go to the chain of fewer links.
  function bestChain(ends, links, gains) {
    const best = new Array(ends + 1).fill(-Infinity), count = new Array(ends + 1).fill(0);
    const came = new Array(ends + 1).fill(-1);
    best[0] = 0;
    const order = links.map((_, i) => i).sort((i, j) => links[i][1] - links[j][1] || i - j);
    for (const index of order) {
      const [left, right] = links[index];
      const total = best[left] + gains[index];
      const fewer = count[left] + 1 < count[right];
      if (total > best[right] + 1e-9 || (total > best[right] - 1e-9 && fewer)) {
        best[right] = total; count[right] = count[left] + 1; came[right] = index;
      }
    }
    if (came[ends] < 0) throw new Error('No chain of links reaches the last boundary.');
    const chain = [];
    for (let at = ends; at > 0; at = links[came[at]][0]) chain.push(came[at]);
    return chain.reverse();
  }

  // `side` (values at the size of `ink`) without the pieces of ink far lighter than its heaviest.
  function withoutSlivers(ink, side) {
    const { labels, count } = MnistPreprocess.components(side, ink.h, ink.w);
    const masses = new Float64Array(count);
    side.forEach((v, i) => { if (v > 0) masses[labels[i]] += v; });
    const heaviest = Math.max(...masses);
    return MnistPreprocess.plane(ink.h, ink.w, side.map((v, i) => (v > 0 && masses[labels[i]] >= SLIVER * heaviest ? v : 0)));
  }

  // The stretch of `ink` between boundaries `left` and `right`, reaching `reach` columns past each
  // cut path into the neighbour (never past the part's edges), slivers removed.
  function widened(ink, edges, left, right, reach) {
    const last = edges.length - 1;
    return withoutSlivers(ink, ink.data.map((v, i) => {
      const y = Math.floor(i / ink.w), x = i % ink.w;
      return x >= edges[left][y] - (left > 0 ? reach : 0) && x < edges[right][y] + (right < last ? reach : 0) ? v : 0;
    }));
  }

  // The part of `part` whose ink is `side` (at `part`'s size), cropped to that ink.
  function tight(part, side) {
    let top = side.h, bottom = -1, left = side.w, right = -1;
    side.data.forEach((v, i) => {
      if (v === 0) return;
      const y = Math.floor(i / side.w), x = i % side.w;
      top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x);
    });
    const ink = MnistPreprocess.plane(bottom - top + 1, right - left + 1);
    for (let y = 0; y < ink.h; y++) ink.data.set(side.data.subarray((top + y) * side.w + left, (top + y) * side.w + right + 1), y * ink.w);
    const x0 = part.box[0] + left, y0 = part.box[1] + top;
    return { box: [x0, y0, x0 + ink.w, y0 + ink.h], ink };
  }

  return { boundaries, stretches, bestChain, withoutSlivers, widened, tight };
})();
