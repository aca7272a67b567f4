// The probability chart of the one-digit grid: a bar per digit, the top one marked, each with its percent.
'use strict';

window.MnistChart = (() => {
  // Whole percents, except at the ends: "100%" only when it rounds there, "<1%" for what is not 0.
  function formatPercent(p) {
    if (p >= 0.995) return '100%';
    if (p < 0.005) return p < 0.0005 ? '0%' : '<1%';
    return `${Math.round(p * 100)}%`;
  }

  // Builds the columns inside `container`; returns render(probabilities), which null empties.
  function bars(container, labels) {
    const columns = labels.map((label) => {
      const column = document.createElement('div');
      column.className = 'column';
      column.dataset.digit = String(label);
      const percent = Object.assign(document.createElement('span'), { className: 'percent' });
      const bar = Object.assign(document.createElement('div'), { className: 'bar' });
      const digit = Object.assign(document.createElement('span'), { className: 'digit', textContent: String(label) });
      column.append(percent, bar, digit);
      container.append(column);
      return { column, percent, bar };
    });
    return (probabilities) => {
      const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
      columns.forEach(({ column, percent, bar }, i) => {
        const p = probabilities ? probabilities[i] : 0;
        // Set through the CSSOM, which the page's Content-Security-Policy allows (inline styles it does not).
        bar.style.height = `${(p * 80).toFixed(1)}%`;
        percent.textContent = probabilities ? formatPercent(p) : '';
        column.classList.toggle('top', i === top);
        column.title = probabilities ? `${i}: ${(p * 100).toFixed(2)}%` : '';
      });
    };
  }

  return { bars, formatPercent };
})();
