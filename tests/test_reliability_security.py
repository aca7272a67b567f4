"""Issue 6's security defaults: the server's settings, no raw HTML, the exported page's CSP,
export paths that escape their folder.

Each test names the guarantee it holds; RELIABILITY.md maps every guarantee to its tests.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.kit.cli import ROOT, cli, one_line

pytestmark = pytest.mark.reliability


# --- 5. Security defaults -----------------------------------------------------------------------


def test_server_defaults_are_safe():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["address"] in ("localhost", "127.0.0.1")
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 10
    assert config["client"]["showErrorDetails"] in ("none", False)
    assert config["browser"]["gatherUsageStats"] is False


def test_the_dashboard_never_renders_raw_html():
    sources = {path: path.read_text() for path in (ROOT / "dashboard").rglob("*.py")}
    assert sources
    for path, source in sources.items():
        for risky in ("unsafe_allow_html=True", "st.html(", "components.html(", "components.v1.html"):
            assert risky not in source, f"{path} uses {risky}"


@pytest.fixture(scope="module")
def exported(trained_store, tmp_path_factory) -> zipfile.ZipFile:
    from web_export import export_run

    return zipfile.ZipFile(export_run(trained_store, None, tmp_path_factory.mktemp("export") / "site.zip"))


@pytest.mark.slow
def test_exported_page_has_a_strict_content_security_policy(exported):
    from web_export import ZIP_FOLDER

    html = exported.read(f"{ZIP_FOLDER}/index.html").decode()
    (policy,) = re.findall(r'http-equiv="Content-Security-Policy"\s+content="([^"]+)"', html)
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] in (["'self'"], ["'none'"])
    assert directives.get("object-src") == ["'none'"]
    for directive in ("script-src", "default-src", "connect-src"):
        sources = directives.get(directive, [])
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources
        assert not any(source.startswith(("http:", "https:", "*")) for source in sources)
    for url in re.findall(r'\b(?:src|href)="([^"]*)"', html):
        assert not re.match(r"(?i)(https?:)?//", url), url


@pytest.mark.slow
def test_exported_files_fetch_nothing_from_the_network(exported):
    """A URL may appear only in prose (an error message, a comment), never as something to load."""
    for name in exported.namelist():
        if name == "README.txt" or not name.endswith((".html", ".js", ".css", ".json")):
            continue  # the README is read by people, not by the page; weights are binary
        text = exported.read(name).decode("utf-8", errors="replace")
        text = re.sub(r"/\*.*?\*/|<!--.*?-->", "", text, flags=re.S)  # comments and licence headers
        for match in re.finditer(r"(?i)(.)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text):
            if match.group(2) is None:
                continue  # `//` that is a comment or a division, not a URL
            assert match.group(1) == " ", f"{name}: {text[max(0, match.start() - 60):match.end() + 20]!r}"


# --- 6. Export paths that escape their folder ---------------------------------------------------


def test_export_through_a_dangling_symlink_is_refused(trained_store, tmp_path):
    from web_export import ExportError, export_run

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "site.zip").symlink_to(tmp_path / "elsewhere.zip")
    with pytest.raises(ExportError, match="symbolic link"):
        export_run(trained_store, None, tmp_path / "out" / "site.zip")
    assert not (tmp_path / "elsewhere.zip").exists()


def test_folder_export_through_a_symlinked_folder_is_refused(trained_store, tmp_path):
    from web_export import ExportError, export_run

    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    (tmp_path / "site").symlink_to(tmp_path / "precious", target_is_directory=True)
    with pytest.raises(ExportError, match="symbolic link"):
        export_run(trained_store, None, tmp_path / "site")
    assert [path.name for path in (tmp_path / "precious").iterdir()] == ["notes.txt"]


@pytest.mark.slow
def test_cli_export_through_a_symlink_is_one_line(trained_store, tmp_path):
    (tmp_path / "site.zip").symlink_to(tmp_path / "elsewhere.zip")
    done = cli("web_export", "--models", str(trained_store.root), "--out", str(tmp_path / "site.zip"))
    assert done.returncode == 1
    assert "symbolic link" in one_line(done.stderr)
    assert not (tmp_path / "elsewhere.zip").exists()


@pytest.mark.slow
def test_exported_zip_members_stay_inside_the_folder_they_unzip_to(exported):
    for info in exported.infolist():
        parts = Path(info.filename).parts
        assert not info.filename.startswith(("/", "\\")) and ".." not in parts and ":" not in info.filename
        assert (info.external_attr >> 16) & 0o170000 != 0o120000  # no symbolic links
