"""Import and export the user's digits: an .npz (x, y), a zip of `<n>_<digit>.png`, a folder of images.

Everything is checked before anything is written: sizes are read from the archive's directory and
the arrays' headers before a byte is decompressed, every file is decoded safely (`training.data.ink`),
and an import with any bad file is refused whole, one line per bad file.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.core.errors import first_line
from training.core.files import write_bytes_atomic
from training.data.ink import MAX_FILE_BYTES, EmptyDrawingError, load_image
from training.data.preprocess import to_mnist
from training.runs.user_digit_records import NewDigit, SaveReport, png_bytes
from training.runs.user_digits import UserDigitStore

# More digits than MNIST's training set in one import is a mistake, not a person's handwriting.
MAX_IMPORT_DIGITS = 100_000
# An archive may unpack to at most this much (its directory is read before anything else).
MAX_UNPACKED_BYTES = 500 * 10**6
# A member this much larger than its compressed size is a bomb, not an image or an array.
MAX_RATIO = 200
NPY_HEADER_BYTES = 4096
DIGIT_NAME = re.compile(r"_(\d)\.[A-Za-z0-9]+$")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class ImportRefused(ValueError):
    """Nothing was imported: `problems` holds one line per bad file (or one for a bad archive)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: digits added, duplicates skipped, and how many the source held."""

    added: int
    duplicates: int
    read: int


def import_into(store: UserDigitStore, path: Path | str) -> ImportResult:
    """Read an .npz, a zip of images or a folder of images, then save its digits in one transaction.

    Raises:
        ImportRefused: the source or some file in it is bad; nothing was written.
        UserDigitsError: the database cannot be written.
    """
    digits = read_digits(Path(path))
    try:
        report: SaveReport = store.add_many(digits)
    except ValueError as error:  # checked already; the store checks again before writing
        raise ImportRefused([f"{path}: {error}"]) from None
    return ImportResult(added=len(report.added), duplicates=report.duplicates, read=len(digits))


def read_digits(path: Path) -> list[NewDigit]:
    """The labelled digits in an .npz, a zip of `*_<digit>.png` or a folder of `*_<digit>.<ext>`.

    Raises:
        ImportRefused: one line per bad file; the source as a whole is refused.
    """
    if path.is_dir():
        return _read_folder(path)
    if not path.exists():
        raise ImportRefused([f"{path} does not exist"])
    if path.stat().st_size > MAX_UNPACKED_BYTES:
        raise ImportRefused([f"{path} is too large ({path.stat().st_size / 1e6:.0f} MB); the limit is "
                             f"{MAX_UNPACKED_BYTES // 10**6} MB"])
    if path.suffix.lower() == ".npz":
        return _read_npz(path)
    if path.suffix.lower() == ".zip":
        return _read_zip(path)
    raise ImportRefused([f"{path}: expected an .npz file, a .zip of images or a folder of images"])


# --- Sources ---------------------------------------------------------------------------------------


def _read_npz(path: Path) -> list[NewDigit]:
    with _open_zip(path, "an .npz file") as archive:
        members = {info.filename: info for info in archive.infolist()}
        missing = [name for name in ("x.npy", "y.npy") if name not in members]
        if missing:
            raise ImportRefused([f"{path} has no array {missing[0][0]!r} (expected x (N, 28, 28) uint8 and "
                                 "y (N,) labels)"])
        _check_sizes(path, [members["x.npy"], members["y.npy"]])
        x_shape, x_dtype = _npy_header(archive, members["x.npy"], path)
        y_shape, y_dtype = _npy_header(archive, members["y.npy"], path)
        if len(x_shape) != 3 or x_shape[1:] != (28, 28):
            raise ImportRefused([f"{path}: x has shape {x_shape}; expected (N, 28, 28)"])
        if x_dtype != np.uint8:
            raise ImportRefused([f"{path}: x holds {x_dtype}; expected uint8 (0..255, ink white on black)"])
        if len(y_shape) != 1 or y_shape[0] != x_shape[0]:
            raise ImportRefused([f"{path}: y has shape {y_shape}; expected ({x_shape[0]},), "
                                 "one label per image"])
        if y_dtype.kind not in "iu":
            raise ImportRefused([f"{path}: y holds {y_dtype}; expected integer labels 0..9"])
        if x_shape[0] > MAX_IMPORT_DIGITS:
            raise ImportRefused([f"{path} holds {x_shape[0]:,} digits; the limit is {MAX_IMPORT_DIGITS:,}"])
        x = _npy_array(archive, members["x.npy"], path)
        y = _npy_array(archive, members["y.npy"], path)
    bad = np.flatnonzero((y < 0) | (y > 9))
    if bad.size:
        raise ImportRefused([f"{path}: label {y[i]} at index {i} is not a digit 0..9" for i in bad[:20]])
    return [NewDigit(image28=image, label=int(label), source="import")
            for image, label in zip(x, y, strict=True)]


def _read_zip(path: Path) -> list[NewDigit]:
    digits, problems = [], []
    with _open_zip(path, "a zip archive") as archive:
        members = [info for info in archive.infolist() if not info.is_dir() and not _hidden(info.filename)]
        if len(members) > MAX_IMPORT_DIGITS:
            raise ImportRefused([f"{path} holds {len(members):,} files; the limit is {MAX_IMPORT_DIGITS:,}"])
        _check_sizes(path, members)
        for info in members:
            name = f"{path}:{info.filename}"
            try:
                label = _label_from_name(info.filename)
                with archive.open(info) as member:
                    data = member.read(MAX_FILE_BYTES + 1)
                digits.append(digit_from_image(data, label))
            except (ValueError, zipfile.BadZipFile, OSError) as error:
                problems.append(_problem(name, error))
    return _all_or_nothing(path, digits, problems)


def _read_folder(path: Path) -> list[NewDigit]:
    files = sorted(entry for entry in path.iterdir() if entry.is_file() and not _hidden(entry.name))
    if len(files) > MAX_IMPORT_DIGITS:
        raise ImportRefused([f"{path} holds {len(files):,} files; the limit is {MAX_IMPORT_DIGITS:,}"])
    digits, problems = [], []
    for file in files:
        try:
            label = _label_from_name(file.name)
            digits.append(digit_from_image(file, label))
        except ValueError as error:
            problems.append(_problem(str(file), error))
    return _all_or_nothing(path, digits, problems)


def _all_or_nothing(path: Path, digits: list[NewDigit], problems: list[str]) -> list[NewDigit]:
    if problems:
        raise ImportRefused(problems)
    if not digits:
        raise ImportRefused([f"{path} holds no images named *_<digit>.png"])
    return digits


# --- One image -------------------------------------------------------------------------------------


def digit_from_image(source: bytes | Path, label: int, source_name: str = "import") -> NewDigit:
    """A labelled digit from an image file: a 28×28 image is the input itself, others are preprocessed.

    Raises:
        ValueError: one line: unreadable, too large, or no ink.
    """

    image = load_image(source)
    if image.size == (28, 28):
        # Already MNIST-sized (an export of ours, or MNIST itself): taken as it is, so that an
        # export imported again is recognised as the same digits.
        gray = np.asarray(image.convert("L"))
        border = np.concatenate([gray[:2].ravel(), gray[-2:].ravel(),
                                 gray[:, :2].ravel(), gray[:, -2:].ravel()])
        if np.median(border) >= 128:
            gray = 255 - gray
        if gray.max() < 40:
            raise EmptyDrawingError("the image holds no digit (it is blank)")
        return NewDigit(image28=np.ascontiguousarray(gray), label=label, source=source_name)
    try:
        image28 = to_mnist(image)
    except EmptyDrawingError:
        raise EmptyDrawingError("the image holds no digit (it is blank)") from None
    return NewDigit(image28=image28, label=label, drawing_png=png_bytes(image), source=source_name)


def _label_from_name(name: str) -> int:
    match = DIGIT_NAME.search(Path(name).name)
    if match is None:
        raise ValueError("the name must end in _<digit>.<ext> (like 12_7.png) to give the label")
    if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
        kinds = ", ".join(sorted(IMAGE_SUFFIXES))
        raise ValueError(f"{Path(name).suffix or 'no extension'} is not an image type this reads ({kinds})")
    return int(match.group(1))


# --- Archives, read with care ------------------------------------------------------------------------


def _open_zip(path: Path, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportRefused([f"{path} is not {what} ({first_line(error)})"]) from None


def _check_sizes(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Refuse bombs from the archive's directory, before decompressing anything."""
    total = sum(info.file_size for info in members)
    if total > MAX_UNPACKED_BYTES:
        raise ImportRefused([f"{path} would unpack to {total / 1e6:,.0f} MB; the limit is "
                             f"{MAX_UNPACKED_BYTES // 10**6} MB (a zip bomb?)"])
    for info in members:
        if info.file_size > 10**6 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ImportRefused([f"{path}:{info.filename} would unpack {ratio:,} times larger than it is "
                                 "stored (a zip bomb?)"])


def _npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> tuple[tuple, np.dtype]:
    """An array's shape and type from its .npy header, without reading the data."""
    try:
        with archive.open(info) as member:
            header = io.BytesIO(member.read(NPY_HEADER_BYTES))
        version = np.lib.format.read_magic(header)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(header)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(header)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        reason = first_line(error)
        raise ImportRefused([f"{path}: {info.filename} is not a NumPy array ({reason})"]) from None
    if dtype.hasobject:
        raise ImportRefused([f"{path}: {info.filename} holds Python objects; expected numbers"])
    return shape, dtype


def _npy_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path) -> np.ndarray:
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ImportRefused([f"{path}: {info.filename} cannot be read ({first_line(error)})"]) from None


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in Path(name).parts)


def _problem(name: str, error: BaseException) -> str:
    """One line naming the file once: image errors already start with its name or "the image data"."""
    line = first_line(error)
    if line.startswith("the image data"):
        return name + line[len("the image data"):]
    return line if line.startswith(name) else f"{name}: {line}"



# --- Export --------------------------------------------------------------------------------------------


def export_bytes(store: UserDigitStore, kind: str) -> bytes:
    """Every saved digit as an .npz (`x` (N, 28, 28) uint8, `y` (N,) uint8) or a zip of `<n>_<digit>.png`."""
    x, y, _ids = store.arrays()
    return encode(x, y, kind)


def encode(x: np.ndarray, y: np.ndarray, kind: str) -> bytes:
    """Digits as the bytes of an .npz (`x`, `y`) or of a zip of `<n>_<digit>.png` (ink white on black)."""
    buffer = io.BytesIO()
    if kind == "npz":
        np.savez_compressed(buffer, x=x, y=y)
    elif kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for number, (image, label) in enumerate(zip(x, y, strict=True), start=1):
                archive.writestr(f"{number:05d}_{label}.png", png_bytes(image))
    else:
        raise ValueError(f"unknown export format {kind!r}: npz or zip")
    return buffer.getvalue()


def export_to(store: UserDigitStore, path: Path | str) -> int:
    """Write every saved digit to PATH (.npz or .zip by its name), atomically; returns how many."""
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("npz", "zip"):
        raise ValueError(f"{path}: the name must end in .npz or .zip")
    x, y, _ids = store.arrays()
    data = encode(x, y, kind)
    write_bytes_atomic(path, data)
    return len(y)
