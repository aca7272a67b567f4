"""An answer's explanation as plain text, for `python -m training predict --explain` in a terminal."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Lightest to darkest. Plain ASCII: any terminal, log file or pasted issue shows it the same.
INK_SHADES = " .:+#"
MAP_SHADES = " .:-=+*#%@"
BLOCK = 2  # 2×2 pixels a character (14 lines), each drawn twice as wide so digits keep their shape


def shade_rows(values: np.ndarray, shades: str, *, stretch: bool = False) -> list[str]:
    """A 2-D array in 0..1 as lines of characters, two characters per BLOCK×BLOCK cell.

    With `stretch`, the largest cell gets the darkest character.
    """
    size = values.shape[0] // BLOCK
    cells = values[:size * BLOCK, :size * BLOCK].reshape(size, BLOCK, size, BLOCK).mean(axis=(1, 3))
    if stretch and cells.max() > 0:
        cells = cells / cells.max()
    levels = np.clip(np.ceil(cells * (len(shades) - 1)), 0, len(shades) - 1).astype(int)
    return ["".join(shades[level] * 2 for level in row) for row in levels]


def explanation_lines(image28: np.ndarray, saliency: np.ndarray, digit: int,
                      neighbour_labels: Sequence[int]) -> list[str]:
    """The drawing and where the model looked, side by side, then the nearest training digits' labels.

    Only the positive part of the map is drawn (ink that holds the answer up), scaled to its
    largest cell: the darkest character is the region that mattered most for this drawing.
    """
    image = np.clip(np.asarray(image28, np.float64), 0, 1)
    support = np.clip(np.asarray(saliency, np.float64), 0, None)
    width = 28 // BLOCK * 2
    title = f"where it looks for the {digit}"
    lines = [f"  +{'drawing'.center(width, '-')}+  +{title.center(width, '-')}+"]
    lines += [f"  |{left}|  |{right}|" for left, right in zip(shade_rows(image, INK_SHADES),
                                                             shade_rows(support, MAP_SHADES, stretch=True),
                                                             strict=True)]
    lines.append(f"  +{'-' * width}+  +{'-' * width}+")
    if neighbour_labels:
        alike = sum(label == digit for label in neighbour_labels)
        lines.append(f"  nearest MNIST training digits: {' '.join(str(label) for label in neighbour_labels)}"
                     f" ({alike} of {len(neighbour_labels)} are {digit}s)")
    return lines
