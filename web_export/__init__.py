"""Static web export: a trained run as a TensorFlow.js page that works offline, as a folder or zip."""

from web_export.bundle import ExportError
from web_export.convert import DEFAULT_QUANTIZE
from web_export.export import ZIP_FOLDER, bundle_zip_bytes, export_run

__all__ = ["DEFAULT_QUANTIZE", "ZIP_FOLDER", "ExportError", "bundle_zip_bytes", "export_run"]
