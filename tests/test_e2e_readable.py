"""Pages a person reads at a glance, in a real browser: readable curves, a true message for a blank
upload, a zip that unpacks into one folder, and the answer in view on a phone-sized screen.

Each test drives the real Streamlit server (tests/kit/dashboard_server.py) in Debian's Chromium.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest

from tests.kit import dashboard_browser as browser_kit

pytestmark = [pytest.mark.browser, pytest.mark.slow]

expect = pytest.importorskip("playwright.sync_api").expect

TIMEOUT_MS = 60_000
PHONE = {"width": 420, "height": 800}

# Every curve chart on the page as drawn by Vega (SVG): the plot area's size, each point's
# position inside it, and the labels of both axes.
CURVE_CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg')].map(svg => {
  const axis = (name) => svg.querySelector(`g[aria-roledescription="axis"][aria-label^="${name}-axis"]`);
  const labels = (group) => group
    ? [...group.querySelectorAll('.role-axis-label text')].map(text => text.textContent) : [];
  const frame = svg.querySelector('.mark-group.role-frame.root > g > path.background').getAttribute('d');
  const [, width, height] = /h([\\d.]+)v([\\d.]+)/.exec(frame);
  const points = [...svg.querySelectorAll('.mark-symbol.role-mark path')].map(point => {
    const [, x, y] = /translate\\(([-\\d.e]+),([-\\d.e]+)\\)/.exec(point.getAttribute('transform'));
    return {x: +x, y: +y, label: point.getAttribute('aria-label')};
  });
  return {title: axis('Y') ? axis('Y').getAttribute('aria-label') : '', width: +width, height: +height,
          points, yLabels: labels(axis('Y')), xLabels: labels(axis('X'))};
}).filter(chart => /titled '(accuracy|loss)/.test(chart.title))"""


@pytest.fixture(scope="module")
def app_url(trained_store, tmp_path_factory):
    """The dashboard served against a private copy of the trained store (one run of one epoch)."""
    from tests.kit.dashboard_server import serve

    root = tmp_path_factory.mktemp("readable") / "store"
    shutil.copytree(trained_store.root, root)
    with serve(root) as url:
        yield url


def open_page(page, url: str) -> None:
    page.goto(url)
    browser_kit.wait_for_script(page, TIMEOUT_MS)


def test_the_curves_plot_every_value_inside_a_tall_plot_area(page, app_url):
    open_page(page, app_url)
    expect(page.get_by_text("Show the results of")).to_be_visible(timeout=TIMEOUT_MS)
    drawn = f"() => ({CURVE_CHARTS_JS})().filter(chart => chart.points.length === 2).length === 2"
    page.wait_for_function(drawn, timeout=TIMEOUT_MS)
    charts = page.evaluate(CURVE_CHARTS_JS)[:2]  # the curves come first; per-digit accuracy follows
    assert [chart["title"].split("'")[1] for chart in charts] == ["accuracy", "loss"]
    for chart in charts:
        assert chart["height"] >= 220, chart  # the data's own area, not the box around it
        assert len(chart["yLabels"]) >= 4, chart
        # Inside the y domain means inside the plot area: Vega draws a value outside it off the plot.
        for point in chart["points"]:
            assert 0 <= point["y"] <= chart["height"] and 0 <= point["x"] <= chart["width"], (point, chart)
        # One epoch: one tick, "1", and the points in the middle, not on the left edge.
        assert chart["xLabels"] == ["1"]
        assert all(abs(point["x"] - chart["width"] / 2) < 2 for point in chart["points"]), chart
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_blank_upload_says_no_digit_was_found_and_its_preview_has_a_border(page, app_url, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    open_page(page, f"{app_url}/draw")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(blank)
    panel = page.locator(".st-key-draw_prediction_upload")
    expect(panel).to_contain_text("No digit was found in this image", timeout=TIMEOUT_MS)
    expect(panel).not_to_contain_text("Draw a digit")
    browser_kit.wait_for_script(page, TIMEOUT_MS)
    preview = page.get_by_test_id("stImage").filter(has_text="blank.png")
    expect(preview).to_be_visible()
    # The white picture on the white page: some box around it must draw a visible line.
    border = preview.evaluate("""(element) => {
      for (let node = element; node && node !== document.body; node = node.parentElement) {
        const style = getComputedStyle(node);
        if (parseFloat(style.borderTopWidth) > 0 && style.borderTopStyle !== 'none'
            && style.borderTopColor !== 'rgb(255, 255, 255)' && !style.borderTopColor.endsWith(', 0)'))
          return style.borderTopColor;
      }
      return null;
    }""")
    assert border is not None, "the upload preview has no visible border"
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_the_downloaded_zip_unpacks_into_one_folder(page, app_url):
    open_page(page, f"{app_url}/export")
    button = page.get_by_role("button", name="Download the web page")
    expect(button).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        button.click()
    data = download.value.path().read_bytes()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {name.split("/")[0] for name in names} == {"mnist-studio-page"}
    assert "mnist-studio-page/index.html" in names
    expect(page.get_by_text("mnist-studio-page")).to_be_visible()


def test_on_a_phone_sized_screen_the_answer_is_in_view_after_a_stroke(browser, app_url):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        open_page(page, f"{app_url}/draw")
        browser_kit.stroke(page, browser_kit.one_points(), TIMEOUT_MS)
        heading = page.locator(browser_kit.PREDICTION).get_by_role("heading", name="Predicted digit")
        expect(heading).to_be_visible(timeout=TIMEOUT_MS)
        browser_kit.wait_for_script(page, TIMEOUT_MS)
        assert page.get_by_test_id("stMain").evaluate("main => main.scrollTop") == 0  # nothing scrolled
        box = heading.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    finally:
        context.close()
