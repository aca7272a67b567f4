"""Write a static export as a folder or a .zip, atomically; or as zip bytes for a download button."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from training.runs.store import ModelStore
from web_export.bundle import MANIFEST_FILE, Bundle, ExportError, build_bundle

__all__ = ["ZIP_FOLDER", "ExportError", "bundle_zip_bytes", "export_run"]

# Every file of a zip sits in this one folder, so that unzipping makes one folder, not a heap of loose files.
ZIP_FOLDER = "mnist-studio-page"


def export_run(store: ModelStore, run_id: str | None, out: Path, *, quantize: str | None = None) -> Path:
    """Export a run (the active one when `run_id` is None) to `out`: a folder, or a zip if `.zip`.

    A zip holds one folder, ZIP_FOLDER, with the page in it.

    The output appears whole or not at all. An existing export at `out` is replaced; anything
    else already there is left alone and an ExportError says why.

    Returns:
        The path written (`out`, made absolute).
    """
    out = _checked_out_path(Path(out))
    is_zip = out.suffix.lower() == ".zip"
    if is_zip and out.is_dir():
        raise ExportError(f"{out} is a folder; choose a .zip file name.")
    if not is_zip:
        _check_replaceable_folder(out)
    bundle = build_bundle(store, run_id, quantize=quantize)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"Cannot create {out.parent}: {error.strerror or error}.") from error
    if is_zip:
        _write_zip_atomic(bundle, out)
    else:
        _write_folder_atomic(bundle, out)
    return out


def bundle_zip_bytes(store: ModelStore, run_id: str | None = None, *, quantize: str | None = None) -> bytes:
    """The export as zip bytes, for a download button; nothing is written to disk."""
    return zip_bytes(build_bundle(store, run_id, quantize=quantize))


def zip_bytes(bundle: Bundle) -> bytes:
    """The bundle's files as a zip, all inside the folder ZIP_FOLDER."""
    buffer = io.BytesIO()
    # A fixed date: entry times would only leak this machine's clock (export.json says when).
    when = (2020, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        folder = zipfile.ZipInfo(f"{ZIP_FOLDER}/", date_time=when)
        folder.external_attr = 0o40755 << 16 | 0x10  # a directory, for Unix and for Windows
        archive.writestr(folder, b"")
        for name, data in sorted(bundle.files.items()):
            info = zipfile.ZipInfo(f"{ZIP_FOLDER}/{name}", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def is_export_folder(path: Path) -> bool:
    return (path / MANIFEST_FILE).is_file() and (path / "index.html").is_file()


def _checked_out_path(out: Path) -> Path:
    """Refuse names that would write somewhere other than the folder they appear to name."""
    if out.name in ("", ".", ".."):
        raise ExportError(f"{str(out)!r} does not name a file or folder to write; give a new name.")
    if out.is_symlink():
        raise ExportError(f"{out} is a symbolic link; writing through it would escape its folder.")
    out = Path(os.path.abspath(out))
    if out.exists() and not (out.is_dir() or out.is_file()):
        raise ExportError(f"{out} exists and is not a regular file or folder.")
    return out


def _check_replaceable_folder(out: Path) -> None:
    if out.is_file():
        raise ExportError(f"{out} is a file; choose a folder name, or a name ending in .zip.")
    if out.is_dir() and any(out.iterdir()) and not is_export_folder(out):
        raise ExportError(
            f"{out} is a non-empty folder that is not an MNIST Studio export; choose a new or empty folder."
        )


def _write_zip_atomic(bundle: Bundle, out: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}-", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(zip_bytes(bundle))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_folder_atomic(bundle: Bundle, out: Path) -> None:
    """Stage the folder beside `out`, then swap it in with renames (each one atomic)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", suffix=".tmp", dir=out.parent))
    old = None
    try:
        for name, data in bundle.files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        os.chmod(staging, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}-old-", dir=out.parent))
            os.replace(out, old / "previous")
        os.replace(staging, out)
    except BaseException:
        if old is not None and not out.exists() and (old / "previous").exists():
            os.replace(old / "previous", out)  # put the previous export back
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
